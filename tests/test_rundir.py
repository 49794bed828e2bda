"""The run folder's CSV writer: the logbook's exact bytes, and a file csv readers read back."""

import csv

from evoinit.runfolder.folder import RunFolder


def test_write_csv_bytes_quote_only_what_must_be_and_read_back(tmp_path):
    rows = [{"gen": 0, "min": 0.1 + 0.2, "max": float("inf"), "std": float("nan"), "ok": True,
             "best": "64-32 relu he_normal ×1.5", "note": None},
            {"gen": 1, "min": -1e-300, "max": float("-inf"), "std": 2.0, "ok": False,
             "best": 'a "quoted", comma', "note": "two\nlines", "extra": "dropped"},
            {"gen": 2}]
    RunFolder(tmp_path).write_csv("log.csv", rows)
    text = (tmp_path / "log.csv").read_bytes().decode("utf-8")
    assert text == ("gen,min,max,std,ok,best,note\n"
                    "0,0.30000000000000004,inf,nan,True,64-32 relu he_normal ×1.5,\n"
                    '1,-1e-300,-inf,2.0,False,"a ""quoted"", comma","two\nlines"\n'
                    "2,,,,,,\n")
    with open(tmp_path / "log.csv", newline="", encoding="utf-8") as f:
        back = list(csv.DictReader(f))
    assert back[1]["best"] == 'a "quoted", comma' and back[1]["note"] == "two\nlines"
    assert [float(r["min"]) for r in back[:2]] == [0.1 + 0.2, -1e-300]
    RunFolder(tmp_path).write_csv("empty.csv", [])
    assert (tmp_path / "empty.csv").read_bytes() == b""
