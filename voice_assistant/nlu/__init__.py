"""Understanding an utterance: normalize it, spot red flags and commands, match a topic."""
