"""The `xlmforge` command line: the typer app, the flow commands, console output, the demo.
May import every other layer; nothing imports it."""
