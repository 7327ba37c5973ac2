"""The code of each chapter, one module per chapter (`chNN_<topic>.py`).

A chapter module imports the library (`minirnn.numpy`, `minirnn.torch`, `minirnn.data`)
and never another chapter module; what two chapters need lives in the library.
"""
