"""``dream-keras import-chrombpnet IN.h5 OUT.keras``: an official ChromBPNet model file as a Keras 3 model."""

from __future__ import annotations


def add_parser(sub) -> None:
    """Add ``dream-keras import-chrombpnet`` to the subcommands."""
    p = sub.add_parser(
        "import-chrombpnet",
        help="convert an official ChromBPNet .h5 (bias, chrombpnet or chrombpnet_nobias) to a .keras file",
        description="Read an official ChromBPNet HDF5 model (Keras 2: bias.h5, chrombpnet.h5 or "
                    "chrombpnet_nobias.h5) without running its stored Lambda, rebuild it from dream-keras parts "
                    "(bpnet backbone + profile_count head; chrombpnet.h5 as a bias-factorised model with the bias "
                    "part frozen) and save it as a Keras 3 .keras file with outputs 'profile' and 'logcounts'.")
    p.add_argument("input", metavar="IN.h5", help="official ChromBPNet model file")
    p.add_argument("output", metavar="OUT.keras", help="Keras 3 model file to write (must end in .keras)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT.keras if it exists")
    p.set_defaults(func=run)


def run(args) -> int:
    """Run ``dream-keras import-chrombpnet``; returns the exit status."""
    import pathlib

    from data_prep.errors import InputError

    output = pathlib.Path(args.output)
    if output.suffix != ".keras":
        raise InputError(f"output {output} must end in .keras (Keras 3 saves its native format only under that "
                         "extension); e.g. chrombpnet.keras")
    from baselines.chrombpnet import load_official_h5
    from data_prep.outputs import atomic_path, open_output

    with open_output(output, kind="files", overwrite=args.overwrite, option="output"):
        model = load_official_h5(args.input)
        with atomic_path(output) as temporary:  # the temporary name ends in .keras, as Keras wants
            model.save(temporary)
    print(f"{args.input}: {_describe(model)}")
    print(f"wrote {output}")
    return 0


def _describe(model) -> str:
    from bias_models.factorised import BiasFactorizedModel

    def part(m) -> str:
        options = m.model_options
        return (f"bpnet {options['filters']} filters, {options['n_dil_layers']} dilated layers, "
                f"layer prefix {options['layer_prefix']!r}, {m.count_params():,} parameters")

    lengths = f"input {model.input_length} bp, output {model.output['profile'].shape[1]} positions"
    if isinstance(model, BiasFactorizedModel):
        return (f"bias-factorised ChromBPNet ({lengths}): bias-free part {part(model.nobias_model)}; "
                f"frozen bias part {part(model.bias_model)}")
    return f"{lengths}; {part(model)}"
