"""`python -m tracemail_tui` runs the command line."""

from tracemail_tui.cli import main

if __name__ == "__main__":
    main()
