"""`python -m cliffhanger.app` runs the command line (the same as the `cliffhanger` script)."""

from cliffhanger.app.cli import main

if __name__ == "__main__":
    main()
