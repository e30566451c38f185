"""Model updates over real HTTP: verified, loaded, warmed up and swapped, or refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.backend import ModelHolder, OnnxBackend
from edge.config import HttpConfig
from edge.stats import AgentStats
from edge.transport.http import CloudClient
from edge.updater import ModelCache, ModelRejected, ModelUpdater, load_public_key, verify_artifact
from tests.kit.edge import CloudStub, Signer, colour_model

GOOD = colour_model("test-2")


def updater_for(cloud: CloudStub, signer: Signer, tmp_path: Path, model_file: Path) -> ModelUpdater:
    client = CloudClient(cloud.url, "device-token", HttpConfig(retries=0))
    return ModelUpdater(
        ModelHolder(OnnxBackend(model_file)),
        ModelCache(tmp_path / "models"),
        load_public_key(signer.public_pem),
        client,
        AgentStats(),
    )


def test_public_key_as_pem_or_raw_base64(signer: Signer) -> None:
    assert (
        load_public_key(signer.public_pem).public_bytes_raw()
        == load_public_key(signer.public_b64).public_bytes_raw()
    )
    with pytest.raises(ValueError, match="32 bytes"):
        load_public_key("AAAA")
    with pytest.raises(ValueError, match="neither PEM nor base64"):
        load_public_key("not a key!")


def test_verify_accepts_only_the_signed_announced_bytes(signer: Signer) -> None:
    key = load_public_key(signer.public_b64)
    ann = signer.announce(GOOD, "test-2", "/m")
    verify_artifact(GOOD, ann, key)
    with pytest.raises(ModelRejected, match="size"):
        verify_artifact(GOOD + b"x", ann, key)
    with pytest.raises(ModelRejected, match="sha256"):
        verify_artifact(GOOD[:-1] + bytes([GOOD[-1] ^ 1]), ann, key)
    with pytest.raises(ModelRejected, match="bad signature"):
        verify_artifact(GOOD, signer.announce(GOOD, "test-2", "/m", signed=b"other"), key)
    with pytest.raises(ModelRejected, match="bad signature"):
        verify_artifact(GOOD, ann, load_public_key(Signer().public_b64))  # another key
    with pytest.raises(ModelRejected, match="no public key"):
        verify_artifact(GOOD, ann, None)


def test_good_update_is_downloaded_with_the_token_and_swapped(
    cloud: CloudStub, signer: Signer, tmp_path: Path, model_file: Path
) -> None:
    cloud.files["/artifacts/test-2.onnx"] = GOOD
    updater = updater_for(cloud, signer, tmp_path, model_file)
    assert updater.apply(signer.announce(GOOD, "test-2", "/artifacts/test-2.onnx"))
    assert updater.holder.current.version == "test-2"
    assert updater.holder.previous is not None and updater.holder.previous.version == "test-1"
    (download,) = [r for r in cloud.requests if r.path == "/artifacts/test-2.onnx"]
    assert download.headers["Authorization"] == "Bearer device-token"
    assert (tmp_path / "models" / "test-2.onnx").read_bytes() == GOOD
    # The same announcement again (it is retained) is a no-op.
    assert not updater.apply(signer.announce(GOOD, "test-2", "/artifacts/test-2.onnx"))


@pytest.mark.parametrize(
    ("served", "make_ann", "reason"),
    [
        (GOOD[:100], lambda s: s.announce(GOOD, "test-2", "/a"), "size"),
        (GOOD, lambda s: s.announce(GOOD, "test-2", "/a", signed=b"forged"), "bad signature"),
        (b"\x00" * 500, lambda s: s.announce(b"\x00" * 500, "test-2", "/a"), "not a loadable ONNX"),
        (GOOD, lambda s: s.announce(GOOD, "test-9", "/a"), "metadata says test-2"),
        (GOOD, lambda s: s.announce(GOOD, "test-2", "/a", labels=("a", "b")), "labels differ"),
        (None, lambda s: s.announce(GOOD, "test-2", "/a"), "download failed"),
    ],
    ids=["truncated", "forged", "not-onnx", "version-mismatch", "labels-mismatch", "missing"],
)
def test_bad_updates_are_refused_and_the_running_model_stays(
    cloud: CloudStub,
    signer: Signer,
    tmp_path: Path,
    model_file: Path,
    served: bytes | None,
    make_ann,
    reason: str,  # type: ignore[no-untyped-def]
) -> None:
    if served is not None:
        cloud.files["/a"] = served
    updater = updater_for(cloud, signer, tmp_path, model_file)
    assert not updater.apply(make_ann(signer))
    assert updater.holder.current.version == "test-1"
    assert reason in (updater.stats.last_error or "")
    assert updater.refused == 1
    assert not (tmp_path / "models" / "test-2.onnx").exists()


def test_switch_to_previous_or_cached_versions(
    cloud: CloudStub, signer: Signer, tmp_path: Path, model_file: Path
) -> None:
    cloud.files["/m2"] = GOOD
    updater = updater_for(cloud, signer, tmp_path, model_file)
    updater.apply(signer.announce(GOOD, "test-2", "/m2"))
    assert updater.switch_to("test-1") == "rolled back to test-1"
    assert updater.switch_to("test-1") == "already running test-1"
    assert updater.switch_to("test-2") == "rolled back to test-2"
    updater.holder.swap(OnnxBackend(colour_model("test-3")))
    updater.holder.swap(
        OnnxBackend(colour_model("test-4"))
    )  # test-2 is neither current nor previous
    assert updater.switch_to("test-2") == "switched to test-2"  # from the verified cache
    with pytest.raises(ModelRejected, match="not available"):
        updater.switch_to("test-99")
    (tmp_path / "models" / "test-2.onnx").write_bytes(b"tampered")
    updater.holder.swap(OnnxBackend(colour_model("test-5")))
    updater.holder.swap(OnnxBackend(colour_model("test-6")))
    with pytest.raises(ModelRejected, match="corrupt"):
        updater.switch_to("test-2")
