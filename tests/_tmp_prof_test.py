import time, pytest
from tests.conftest import Env, ts
from tests.factories import control_finding

def test_prof(env: Env):
    for i in range(3):
        raw = control_finding("S3.2", resource_id=f"arn:aws:s3:::b{i}", updated_at=ts(env.now))
        env.hub.import_findings([raw])
    for i in range(6):
        t = time.perf_counter()
        r = env.sync()
        print(i, r.exit_code, time.perf_counter() - t, len(env.gh.requests_log))
