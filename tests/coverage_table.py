"""Print the API coverage table for README.md from the parity registry.

    python tests/coverage_table.py

One row per layer family: the public layers and kernels it exports and how many parity cases
(forward + gradients against PyTorch) and bad-input cases the registry holds for them.
"""
import os
import importlib
import pkgutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jnn.functional as F  # noqa: E402
import jnn.modules as M  # noqa: E402
import jnn.tensor_functions as T  # noqa: E402
from cases import ERROR_CASES, EXEMPT, FUNCTION_CASES, MODULE_CASES  # noqa: E402


def main() -> None:
    families = {}
    for info in pkgutil.iter_modules(M.__path__):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"jnn.modules.{info.name}")
        families.setdefault(info.name, [set(), set()])[0].update(getattr(mod, "__all__", []))
    for info in pkgutil.iter_modules(F.__path__):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"jnn.functional.{info.name}")
        families.setdefault(info.name, [set(), set()])[1].update(getattr(mod, "__all__", []))
    count = {}
    for c in MODULE_CASES + FUNCTION_CASES:
        count[c.name] = count.get(c.name, 0) + 1
    errors = {}
    for c in ERROR_CASES:
        errors[c.name] = errors.get(c.name, 0) + 1
    print("| family | layers | kernels | parity cases | bad-input cases |")
    print("| --- | --- | --- | --- | --- |")
    for family, (layers, kernels) in sorted(families.items()):
        layers = sorted(n for n in layers if isinstance(getattr(M, n, None), type)
                        and issubclass(getattr(M, n), M.Module) and n != "Module")
        kernels = sorted(kernels)
        if not layers and not kernels:
            continue
        names = layers + kernels
        cases = sum(count.get(n, 0) for n in names)
        bad = sum(errors.get(n, 0) for n in names)
        print(f"| {family} | {', '.join(layers) or '-'} | "
              f"{', '.join('F.' + k for k in kernels) or '-'} | {cases} | {bad} |")
    top = sorted(n for n in T.__all__ if callable(getattr(T, n)))
    names = [f"nn.{n}" for n in top]
    print(f"| tensor_functions (torch.*) | - | {', '.join(names)} | "
          f"{sum(count.get(n, 0) for n in names)} | {sum(errors.get(n, 0) for n in names)} |")
    print(f"\n{len(MODULE_CASES)} layer cases, {len(FUNCTION_CASES)} kernel cases, "
          f"{len(ERROR_CASES)} bad-input cases; {len(EXEMPT)} names tested outside the registry.")


if __name__ == "__main__":
    main()
