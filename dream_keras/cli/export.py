"""``dream-keras export``: one .keras model, or the average of fold models, as a TF Serving SavedModel."""

from __future__ import annotations


def add_parser(sub) -> None:
    """Add ``dream-keras export`` to the subcommands."""
    p = sub.add_parser(
        "export", help="write a SavedModel for TF Serving (BASE_DIR/NAME/VERSION/)",
        description="Export one .keras model, or several fold models averaged into one servable, in TF "
                    "Serving's layout BASE_DIR/NAME/VERSION/ with the signatures serving_default (one-hot "
                    "'sequence'), predict_dna (DNA strings 'dna'), predict_rc_average and "
                    "predict_dna_rc_average (forward and reverse-complement predictions averaged).")
    p.add_argument("models", nargs="+", metavar="MODEL.keras",
                   help="model file(s); several fold models are averaged into one servable")
    p.add_argument("--base-dir", required=True, help="TF Serving's model base path")
    p.add_argument("--name", required=True, help="the servable's name (served as /v1/models/NAME)")
    p.add_argument("--version", type=int, default=None,
                   help="version number (default: one more than the highest present; never overwrites)")
    p.add_argument("--signatures", nargs="+", default=None, metavar="SIGNATURE",
                   help="signatures to write besides serving_default, which is always written (default: "
                        "all of predict_dna, predict_rc_average, predict_dna_rc_average)")
    p.add_argument("--rc-span", nargs=2, type=int, default=None, metavar=("START", "STOP"),
                   help="reverse-complement only positions START..STOP-1 in the RC-average signatures "
                        "(lentiMPRA: 15 215, the element between its adaptors); default: the whole input")
    p.set_defaults(func=run)


def run(args) -> int:
    """Run ``dream-keras export``; returns the exit status."""
    import pathlib

    from data_prep.outputs import open_output
    from dream_keras.export import DEFAULT_SIGNATURES, export_saved_model
    from dream_keras.export.layout import check_model_name, check_new_version, next_version

    model_dir = pathlib.Path(args.base_dir) / check_model_name(args.name)
    version = next_version(model_dir) if args.version is None else check_new_version(model_dir, args.version)
    # the version folder is the output: locked, and never replaced (a version is written once)
    with open_output(model_dir / str(version), kind="files", option="--base-dir/--name/--version"):
        written = export_saved_model(args.models, args.base_dir, args.name, version=version,
                                     signatures=args.signatures or DEFAULT_SIGNATURES, rc_span=args.rc_span)
    what = f"average of {len(args.models)} models" if len(args.models) > 1 else args.models[0]
    print(f"dream-keras export: wrote {written} ({what})")
    return 0
