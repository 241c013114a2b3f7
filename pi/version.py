"""The camera agent's version, sent at enrollment and in every heartbeat."""

AGENT_VERSION = "1.0.0"
