"""`data X = csv(...)` and `data X = npy(...)`: what loads, and every way a file can be wrong."""
from __future__ import annotations

import numpy as np
import pytest

import bpdebug
from bpdebug import BpError

XOR = "x1,x2,xor\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n"


def load(tmp_path, program: str, files: dict, values=None):
    """Write the files beside a program in tmp_path and load it (paths are relative to it)."""
    for name, content in files.items():
        if isinstance(content, np.ndarray):
            np.save(tmp_path / name, content, allow_pickle=content.dtype == object)
        else:
            (tmp_path / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    path = tmp_path / "prog.bp"
    path.write_text(program)
    return bpdebug.load_file(path, values)


def error(tmp_path, program: str, files: dict) -> BpError:
    with pytest.raises(BpError) as info:
        load(tmp_path, program, files)
    return info.value


def test_columns_by_index_and_by_header_name_with_the_header_skipped(tmp_path):
    s = load(tmp_path, 'data X = csv("d.csv", cols=[0, 1])\ndata Y = csv("d.csv", cols=["xor"])\n'
                       "f = sum(X) + sum(Y)", {"d.csv": XOR})
    X, Y = s.graph.node("X").value, s.graph.node("Y").value
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    # One column is still a matrix, (rows, 1): the shape of a dense(h, 1) output.
    assert Y.shape == (4, 1) and Y.ravel().tolist() == [0, 1, 1, 0]
    assert s.graph.node("X").kind == "data"


def test_all_columns_without_cols_and_no_header_when_the_first_row_is_numbers(tmp_path):
    s = load(tmp_path, 'data D = csv("d.csv")\nf = sum(D)', {"d.csv": "1,2.5,-3e2\n4, 5 ,6\n"})
    np.testing.assert_array_equal(s.graph.node("D").value, [[1, 2.5, -300], [4, 5, 6]])


def test_negative_index_a_single_column_quotes_blank_lines_and_a_byte_order_mark(tmp_path):
    text = '\ufeff"a","b"\n\n"1","2"\n3,4\n\n'
    s = load(tmp_path, 'data Y = csv("d.csv", cols=-1)\ndata A = csv("d.csv", cols="a")\nf = sum(Y) + sum(A)',
             {"d.csv": text})
    np.testing.assert_array_equal(s.graph.node("Y").value, [[2], [4]])
    np.testing.assert_array_equal(s.graph.node("A").value, [[1], [3]])


def test_npy_keeps_its_shape_and_becomes_float(tmp_path):
    arr = np.arange(12, dtype=np.int32).reshape(4, 3)
    s = load(tmp_path, 'data X = npy("x.npy")\nf = sum(X)', {"x.npy": arr})
    value = s.graph.node("X").value
    assert value.dtype == np.float64 and value.shape == (4, 3)
    s.run()
    assert s.value("f") == 66.0


def test_a_value_from_outside_replaces_the_file(tmp_path):
    # A trainer's mini-batch (and --set) give a data leaf its rows without reading the file.
    s = load(tmp_path, 'data X = csv("missing.csv")\nf = sum(X)', {}, values={"X": np.ones((2, 3))})
    s.run()
    assert s.value("f") == 6.0


def test_a_data_leaf_feeds_a_network(tmp_path):
    s = load(tmp_path, 'data X = csv("d.csv", cols=[0, 1])\ndata Y = csv("d.csv", cols=[2])\n'
                       "layer out = dense(X, 1, seed=0)\nloss C = quadratic(out, Y)", {"d.csv": XOR})
    s.run()
    W = s.graph.node("out.W").value
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
    expected = 0.5 * np.sum((X @ W - np.array([[0], [1], [1], [0]])) ** 2) / 4
    assert s.value("C") == pytest.approx(expected)


# ---- bad input ---------------------------------------------------------------------------
@pytest.mark.parametrize("program, files, words, column", [
    ('data X = csv("nope.csv")', {}, ["cannot read data file 'nope.csv'"], 14),
    ('data X = npy("nope.npy")', {}, ["cannot read data file 'nope.npy'"], 14),
    ('data X = csv("d.csv", cols=[0, 3])', {"d.csv": XOR}, ["no column 3", "3 column(s)"], 32),
    ('data X = csv("d.csv", cols=["x1", "xr"])', {"d.csv": XOR}, ["no column 'xr'", "x1, x2, xor"], 35),
    ('data X = csv("d.csv", cols=["a"])', {"d.csv": "1,2\n3,4\n"}, ["no header row"], 29),
    ('data X = csv("d.csv", cols=[0.5])', {"d.csv": XOR}, ["a column index must be a whole number", "got 0.5"], 29),
    ('data X = csv("d.csv", cols=[-1e309, 1])', {"d.csv": XOR}, ["a column index must be a whole number", "got -inf"], 29),
    ('data X = csv("d.csv", cols=[1])', {"d.csv": "x,y\n1,2\n3,oops\n"},
     ["line 3, column 'y' (index 1)", "'oops' is not a number"], 10),
    ('data X = csv("d.csv")', {"d.csv": "1,2\n3,\n"}, ["line 2, column index 1", "an empty cell is not a number"], 10),
    ('data X = csv("d.csv")', {"d.csv": "x,y\n1,2\nnan,4\n"}, ["line 3, column 'x' (index 0)", "nan", "finite"], 10),
    ('data X = csv("d.csv")', {"d.csv": "x,y\n1,inf\n"}, ["line 2", "inf is not a finite number"], 10),
    ('data X = csv("d.csv")', {"d.csv": "x,y\n1,2\n3\n"}, ["line 3 has 1 cells", "the header has 2"], 10),
    ('data X = csv("d.csv")', {"d.csv": "x,y\n"}, ["a header row but no data rows"], 14),
    ('data X = csv("d.csv")', {"d.csv": "\n\n"}, ["has no rows"], 14),
    ('data X = csv("d.csv")', {"d.csv": b"x,y\n\xff\xfe,1\n"}, ["not a UTF-8 text file"], 14),
    ('data X = csv("d.csv", rows=3)', {"d.csv": XOR}, ["csv() has no argument 'rows'"], 23),
    ('data X = csv(3)', {}, ["takes the file name as a string"], 10),
    ('data X = load("d.csv")', {}, ["data comes from a file"], 10),
    ('data X = [1, 2]', {}, ["data comes from a file"], 10),
    ('data X = npy("x.npy")', {"x.npy": np.array([{}, 1], dtype=object)}, ["holds Python objects"], 14),
    ('data X = npy("x.npy")', {"x.npy": np.array(["a", "b"])}, ["data must be numbers"], 14),
    ('data X = npy("x.npy")', {"x.npy": np.array(2.0)}, ["single number"], 10),
    ('data X = npy("x.npy")', {"x.npy": np.array([[1.0, 2.0], [3.0, np.nan]])},
     ["nan at index [1, 1] (row 1)"], 10),
    ('data X = npy("d.csv")', {"d.csv": XOR}, ["is not an .npy file"], 14),
])
def test_bad_data_is_a_located_error(tmp_path, program, files, words, column):
    err = error(tmp_path, program + "\nf = sum(X)", files)
    for w in words:
        assert w in err.message
    assert (err.line, err.column) == (1, column)
    assert str(err).startswith(f"{tmp_path / 'prog.bp'}:1:{column}: error:")


def test_an_npz_archive_is_named_as_such(tmp_path):
    np.savez(tmp_path / "x.npz", a=np.ones(3))
    err = error(tmp_path, 'data X = npy("x.npz")\nf = sum(X)', {})
    assert "an .npz archive" in err.message and "np.save" in err.hint


def test_a_missing_file_names_where_it_was_looked_for(tmp_path):
    err = error(tmp_path, 'data X = csv("sub/d.csv")\nf = sum(X)', {})
    assert str(tmp_path / "sub" / "d.csv") in err.hint


def test_a_missing_column_name_suggests_the_closest(tmp_path):
    err = error(tmp_path, 'data X = csv("d.csv", cols=["xr"])\nf = sum(X)', {"d.csv": XOR})
    assert err.hint == "did you mean 'xor'?"


def test_data_leaves_with_different_row_counts(tmp_path):
    err = error(tmp_path, 'data X = csv("a.csv")\ndata Y = csv("b.csv")\nf = sum(X) + sum(Y)',
                {"a.csv": "1\n2\n3\n4\n", "b.csv": "1\n2\n3\n"})
    assert err.message.startswith("data 'Y' has 3 rows but 'X' has 4")
    assert err.line == 2


@pytest.mark.parametrize("text, expected", [
    ("x,y,name\n1,2,ann\n3,4,bob\n", [[1, 2], [3, 4]]),            # text in a column not chosen
    ("x,y\n1,2\n   \n3,4\n", [[1, 2], [3, 4]]),                     # a line of spaces is blank
    ('x,y\n"1", 2 \r\n3,4\r\n', [[1, 2], [3, 4]]),                  # quotes, spaces, CRLF
])
def test_files_the_fast_parser_declines_still_load(tmp_path, text, expected):
    s = load(tmp_path, 'data X = csv("d.csv", cols=[0, 1])\nf = sum(X)', {"d.csv": text})
    np.testing.assert_array_equal(s.graph.node("X").value, expected)


@pytest.mark.parametrize("text, words", [
    ("x,y,z\n1,2,3\n4,5\n", "line 3 has 2 cells, but the header has 3"),   # even outside cols
    ("x,y,z\n1,2\n", "line 2 has 2 cells, but the header has 3"),
    ("x,y\n1_0,2\n", "'1_0' is not a number"),
])
def test_ragged_rows_and_odd_numbers_are_errors_whatever_the_columns(tmp_path, text, words):
    err = error(tmp_path, 'data X = csv("d.csv", cols=[0])\nf = sum(X)', {"d.csv": text})
    assert words in err.message


def test_an_npy_whose_header_promises_more_than_it_holds_is_damaged_not_a_memory_error(tmp_path):
    np.save(tmp_path / "small.npy", np.zeros((2, 3)))
    raw = (tmp_path / "small.npy").read_bytes().replace(b"(2, 3)", b"(999999999999, 3)")
    err = error(tmp_path, 'data X = npy("huge.npy")\nf = sum(X)', {"huge.npy": raw})
    assert "is damaged" in err.message and "999999999999" in err.message and err.line == 1


def test_reading_stops_at_the_size_limit(tmp_path, monkeypatch):
    # `csv("/dev/zero")` once grew memory without end: every file is read with a limit.
    from bpdebug import files
    monkeypatch.setattr("bpdebug.graph.data.MAX_DATA_BYTES", 1000)
    err = error(tmp_path, 'data X = csv("big.csv")\nf = sum(X)', {"big.csv": "1,2\n" * 1000})
    assert "is larger than" in err.message and err.line == 1 and err.column == 14
    with pytest.raises(BpError, match="larger than"):
        files.read_limited("/dev/zero", 10 * files.MiB, "program")
