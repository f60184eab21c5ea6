"""The demo, and the stand-ins of Slack it plays against (the tests use them too). Only `clinic-bot demo`
imports this package: nothing the running bot loads can reach it."""
