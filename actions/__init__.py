"""rasa-sdk custom actions, one module per domain; thin: they call `bot.db` queries and format."""
