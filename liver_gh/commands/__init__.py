"""One module per subcommand; each returns the exit code. Only ``cli.py`` exits."""
