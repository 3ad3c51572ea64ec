"""The Textual front end: `bpdebug FILE` opens BpDebugApp on a Session."""
