"""The command line, a face beside the library (as ``streamlink_cli`` sits beside ``streamlink``).

One module per subcommand, each with ``add_parser(commands)`` and the function it runs;
``common`` holds what they share; ``main`` builds the parser and turns errors into one
sentence and an exit code. Installed as the ``hypeline`` command; ``python -m emotion``
runs the same ``main``.
"""
