"""Other ways in: models and ops that were not written in the .bp language.

    python_ops.py  `@op`, `@affine.vjp`, `op.from_cache(forward, backward)`: an op written in
                   Python becomes one more `Op` entry for the builder, like a built-in function
    ops_files.py   loading `--ops FILE.py`
    user_code.py   pointing at the line of the user's file where their code went wrong
    onnx_model.py  `bpdebug model.onnx`: an ONNX model becomes a `Graph` of ordinary nodes of the op
                   table (onnx_import.py), each ONNX op one mapping of onnx_ops.py; onnx_data.py reads
                   the numbers it runs on

Nothing here keeps a graph type or an op table of its own. Python runs only from files the user
names with --ops (or objects passed to `bpdebug.load(..., ops=...)`); a .bp file never loads any.
"""
