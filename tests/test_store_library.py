"""Store.rename / delete / size_bytes / set_last_labels: library management under the lease."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emotion.errors import BusyError
from emotion.library.store import Store
from emotion.media.source import Source


def analysed(store: Store, path: Path, hop_s: float, identity: str = "id:a") -> int:
    source = Source(path=path, title="Stream", duration_s=20.0)
    record = store.open_analysis(source, identity, "m", 10.0, hop_s, 4)
    lease = store.lease(record.id)
    assert lease is not None
    with lease:
        store.append(lease, record.id, 4, np.ones((3, 4), dtype=np.float32), 3)
        store.finish(lease, record.id, 20.0)
    return record.id


def test_delete_takes_the_download_with_the_last_analysis(tmp_path: Path) -> None:
    store = Store(tmp_path)
    folder = tmp_path / "downloads" / "v123-abcd"
    folder.mkdir(parents=True)
    media = folder / "stream.mp4"
    media.write_bytes(b"x" * 1000)
    first, second = analysed(store, media, 5.0), analysed(store, media, 2.5)
    (tmp_path / "exports" / str(first)).mkdir(parents=True)
    store.set_review(first, "a siren", 5.0, True)
    assert store.size_bytes(store.analysis(first)) == 3 * 4 * 4 + 1000

    removed = store.delete(first)
    assert set(removed) == {
        tmp_path / "embeddings" / f"{first}.f32",
        tmp_path / "embeddings" / f"{first}.lock",
        tmp_path / "exports" / str(first),
    }
    assert media.is_file()  # the other analysis still uses it
    assert [r.id for r in store.analyses()] == [second]
    assert store.reviews(first) == {}
    with pytest.raises(KeyError):
        store.analysis(first)

    removed = store.delete(second)
    assert folder in removed and not folder.exists()
    assert store.analyses() == []
    assert list((tmp_path / "embeddings").iterdir()) == []


def test_delete_never_touches_the_users_own_file(tmp_path: Path) -> None:
    own = tmp_path / "videos" / "mine.mp4"
    own.parent.mkdir()
    own.write_bytes(b"x" * 10)
    store = Store(tmp_path / "home")
    aid = analysed(store, own, 5.0)
    assert store.size_bytes(store.analysis(aid)) == 3 * 4 * 4
    store.delete(aid)
    assert own.read_bytes() == b"x" * 10


def test_delete_is_refused_while_the_lease_is_held(tmp_path: Path) -> None:
    store = Store(tmp_path)
    aid = analysed(store, tmp_path / "a.wav", 5.0)
    lease = store.lease(aid)
    assert lease is not None
    with lease, pytest.raises(BusyError, match="being analysed by another process"):
        store.delete(aid)
    assert store.analysis(aid).n_done == 3
    store.delete(aid)  # free again


def test_rename_and_last_labels(tmp_path: Path) -> None:
    store = Store(tmp_path)
    aid = analysed(store, tmp_path / "a.wav", 5.0)
    assert store.rename(aid, "  Best   of  it ").title == "Best of it"
    assert store.rename(aid, " ").title == "Stream"
    with pytest.raises(KeyError):
        store.rename(99, "x")
    assert store.analysis(aid).last_labels == ()
    store.set_last_labels(aid, ["a siren", "chat going wild"])
    assert store.analysis(aid).last_labels == ("a siren", "chat going wild")


def test_vector_rows_maps_only_the_counted_rows(tmp_path: Path) -> None:
    store = Store(tmp_path)
    aid = analysed(store, tmp_path / "a.wav", 5.0)
    record = store.analysis(aid)
    rows = store.vector_rows(record, 1, 3)
    assert rows.shape == (2, 4) and float(rows.sum()) == 8.0
    assert store.vector_rows(record, 3, 3).shape == (0, 4)
