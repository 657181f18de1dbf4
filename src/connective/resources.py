"""Where the bundled model files and the synthetic flagship survey are.

Installed from a wheel, the model files ship inside the package (``connective/models``); in a
source checkout (editable install) they are read from the repository's ``models/`` folder.

Example
-------
>>> model_path("connective_action").name
'connective_action.lav'
>>> flagship_data_path().name
'flagship_survey_synthetic.csv'
"""

from __future__ import annotations

from pathlib import Path

from connective.errors import ConnectiveError

_PACKAGE = Path(__file__).resolve().parent


def models_dir() -> Path:
    """The folder of bundled ``.lav`` model files."""
    for candidate in (_PACKAGE / "models", _PACKAGE.parent.parent / "models"):
        if candidate.is_dir():
            return candidate
    raise ConnectiveError("the bundled model files are missing from this installation; "
                          "reinstall connective")


def bundled_models() -> list[str]:
    """Names of the bundled models (file names without ``.lav``)."""
    return sorted(p.stem for p in models_dir().glob("*.lav"))


def model_path(name: str) -> Path:
    """Path of a bundled model by name (``simca``) or file name (``simca.lav``)."""
    path = models_dir() / (name if name.endswith(".lav") else f"{name}.lav")
    if not path.is_file():
        raise ConnectiveError(f"no bundled model named {name!r}; the bundled models are "
                              f"{', '.join(bundled_models())}")
    return path


def resolve_model(name_or_path: str | Path) -> Path:
    """A model file given as a path, or a bundled model given by name.

    Example
    -------
    >>> resolve_model("simca").name
    'simca.lav'
    """
    path = Path(name_or_path)
    if path.is_file():
        return path
    if path.parent == Path(".") and (models_dir() / f"{path.stem}.lav").is_file():
        return model_path(path.stem)
    raise ConnectiveError(f"model file {name_or_path} does not exist, and it is not a bundled "
                          f"model ({', '.join(bundled_models())})")


def flagship_values_path() -> Path:
    """The population values the flagship survey was simulated from."""
    return _PACKAGE / "datasets" / "flagship_values.toml"


def flagship_data_path() -> Path:
    """The bundled synthetic survey (N = 194, 7-point items, connective-action model)."""
    return _PACKAGE / "datasets" / "flagship_survey_synthetic.csv"
