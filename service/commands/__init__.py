"""One module per `fasthold` subcommand."""
