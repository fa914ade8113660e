"""Defaults the command line shows in its help, kept where importing them costs nothing.

The command line builds every command's options when it starts; a default taken from the module
that uses it (the store, which imports DuckDB and pandas) would make ``aftermath --version`` pay
for them. The modules that use these values import them from here.
"""

#: the results store the batch commands write and read unless told otherwise (``--store``)
DEFAULT_PATH = "aftermath.duckdb"
