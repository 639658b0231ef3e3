"""The ATAC task's data rules: checked inputs, region selection per split, in-memory and streamed windows."""
