"""The Ceph RGW launcher of the test suite: its configuration and how a failed start explains itself."""

from __future__ import annotations

import pytest

from ceph_rgw import CephStartError, _Cluster, ceph_conf


def test_configuration_carries_the_settings_radosgw_needs_to_start(tmp_path):
    conf = ceph_conf(tmp_path, "fsid", 3300, 8000, "bluestore")
    for line in (
        "mon_host = v2:127.0.0.1:3300",
        "auth_client_required = none",
        "ms_mon_client_mode = crc secure",  # without it radosgw retries for 300 s
        "ms_bind_msgr1 = false",
        "osd_pool_default_size = 1",
        "mon_allow_pool_size_one = true",
        "osd_pool_default_pg_autoscale_mode = off",
        "rgw_frontends = beast endpoint=127.0.0.1:8000",
        "rgw_crypt_require_ssl = false",
        f"run_dir = {tmp_path}/run",
    ):
        assert line in conf.splitlines(), line


def test_a_failed_step_names_itself_and_shows_the_daemon_log(tmp_path):
    cluster = _Cluster(tmp_path, "bluestore")
    (tmp_path / "log" / "osd.0.log").write_text("starting\nbluestore(/x) _mount failed: (5) Input/output error\n")

    with pytest.raises(CephStartError) as raised:
        cluster.run("false", daemon="osd.0")

    message = str(raised.value)
    assert message.startswith("Ceph RGW for the tests did not start: false exited 1")
    assert "--- osd.0 log (tail) ---" in message and "_mount failed" in message
