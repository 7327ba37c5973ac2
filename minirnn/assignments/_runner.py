"""Runs graded tests in the grading process (started by grade.py as ``python -c <this file>``).

    python -c "$(cat _runner.py)" TESTS_FILE LIMIT_SECONDS RESULT_JSON NAME [NAME ...]

Each named test function is called once with a wall-clock limit (SIGALRM); the network is cut
off by replacing socket's connecting functions. The result file maps each name to its status
("passed", "failed", "timeout", "missing"), the exception type and message, and the seconds it
took; "minirnn" records which copy of the package was imported.
"""

import importlib.util
import json
import signal
import socket
import sys
import time


class TimeLimit(BaseException):  # not an Exception: a bare `except Exception` cannot eat it
    pass


def _no_network(*args, **kwargs):
    raise OSError("the network is disabled while grading")


def _alarm(signum, frame):
    raise TimeLimit()


def main(tests_file, limit, result_json, names):
    for name in ("connect", "connect_ex"):
        setattr(socket.socket, name, _no_network)
    socket.create_connection = _no_network
    socket.getaddrinfo = _no_network
    signal.signal(signal.SIGALRM, _alarm)
    results = {}
    try:
        spec = importlib.util.spec_from_file_location("graded_tests", tests_file)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        load_error = None
    except BaseException as err:  # the module (or the student's package) does not import
        module, load_error = None, err
    for name in names:
        entry = {"status": "failed", "error": None, "message": "", "seconds": 0.0}
        start = time.perf_counter()
        try:
            if load_error is not None:
                raise load_error
            test = getattr(module, name, None)
            if test is None:
                entry["status"] = "missing"
                raise LookupError(f"no test called {name}")
            signal.setitimer(signal.ITIMER_REAL, limit)
            try:
                test()
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            entry["status"] = "passed"
        except TimeLimit:
            entry.update(status="timeout", error="TimeLimit",
                         message=f"took longer than {limit:g} s")
        except BaseException as err:  # a test may fail any way at all, SystemExit included
            entry["error"] = type(err).__name__
            entry["message"] = str(err).strip().splitlines()[0][:300] if str(err).strip() else ""
        entry["seconds"] = round(time.perf_counter() - start, 3)
        results[name] = entry
    minirnn = sys.modules.get("minirnn")
    with open(result_json, "w", encoding="utf-8") as f:
        json.dump({"tests": results, "minirnn": getattr(minirnn, "__file__", None)}, f)


main(sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4:])
