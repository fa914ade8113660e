"""``python -m aftermath``: the command line, as the installed ``aftermath`` script runs it."""

from aftermath._entry import main

main()
