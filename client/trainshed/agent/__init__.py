"""The node agent: `trainshed-agent` (trainshed.agent.main) and the job sandbox it uses."""
