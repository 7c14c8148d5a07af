"""The agent's log: chunks end at line ends (the server redacts chunk by chunk, so a secret must
never be split across two), none is larger than the server takes, and a refused chunk does not
end the job's run. The control plane is a recorder standing in for the node API."""

from trainshed.agent import jobs
from trainshed.agent.control import Refused


class Recorder:
    """The node API's log endpoint: stores chunk `seq` if it is the next one."""

    def __init__(self, refuse=()):
        self.chunks: dict[int, str] = {}
        self.refuse = set(refuse)

    def call(self, method, path, *, json, retry_for=None):
        if json["seq"] in self.refuse:
            raise Refused("seq: this chunk cannot be stored")
        if json["seq"] == len(self.chunks) + 1:
            self.chunks[json["seq"]] = json["text"]
        return {"acked": len(self.chunks)}


def test_a_line_written_in_pieces_is_sent_whole():
    api = Recorder()
    log = jobs.Log(api, "job", acked=0)
    log.add("token is s3cr")  # the reader got the line in two reads
    log.flush(force=False, retry_for=0)
    log.flushed_at -= jobs.LOG_FLUSH_SECONDS  # the flush is due
    log.flush(retry_for=0)
    assert api.chunks == {}  # nothing sent until the line ends
    log.add("et-value\nprogress 10%\r")
    log.flush(force=True, retry_for=0)
    assert api.chunks == {1: "token is s3cret-value\nprogress 10%\r"}


def test_a_flood_is_sent_in_chunks_the_server_takes_each_ending_at_a_line_end():
    api = Recorder()
    log = jobs.Log(api, "job", acked=0)
    lines = [f"line {i:07d} {'x' * 80}\n" for i in range(30_000)]  # 2.8 MB in one read
    log.add("".join(lines) + "partial")
    log.flush(retry_for=0)
    sent = list(api.chunks.values())
    assert len(sent) == 3 and all(len(c) <= jobs.LOG_CHUNK_MAX and c.endswith("\n") for c in sent)
    assert "".join(sent) == "".join(lines)
    log.flush(force=True, retry_for=0)
    assert api.chunks[4] == "partial"  # the job's last words, at its end


def test_a_refused_chunk_is_skipped_and_the_log_goes_on():
    api = Recorder(refuse={1})
    log = jobs.Log(api, "job", acked=0)
    log.add("refused\n")
    log.flush(force=True, retry_for=0)
    assert log.acked == 1 and log.pending == []


def test_the_commands_first_output_is_due_at_once_and_wakes_the_jobs_loop():
    api = Recorder()
    log = jobs.Log(api, "job", acked=0)
    log.note("This node cannot sandbox jobs: the job runs unsandboxed.")
    assert not log.due.is_set()  # the agent's own note waits for the batch
    log.flush(retry_for=0)
    assert api.chunks == {}
    log.add("ready\n")
    assert log.due.is_set()  # the job's loop wakes instead of sleeping
    log.due.clear()
    log.flush(retry_for=0)
    assert api.chunks == {1: "[trainshed] This node cannot sandbox jobs: the job runs unsandboxed.\nready\n"}
    log.add("epoch 1\n")  # later output is batched: not due, and the loop is not woken for it
    assert not log.due.is_set()
    log.flush(retry_for=0)
    assert len(api.chunks) == 1
    log.add("x" * jobs.LOG_FLUSH_BYTES + "\n")  # a full batch is due at once
    assert log.due.is_set()
    log.flush(retry_for=0)
    assert api.chunks[2].startswith("epoch 1\nxxx")
