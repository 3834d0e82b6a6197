"""No two modules of the project import each other, even only for type checking
(the layers themselves are import-linter's contracts in pyproject.toml)."""

import grimp

PACKAGES = ("server", "handlers", "services", "notifier", "feeds", "store", "config", "trading")


def test_no_module_imports_one_that_imports_it_back():
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=False)
    modules = {m for m in graph.modules if "." in m}
    assert len(modules) > 50
    circles = sorted({tuple(sorted((a, b))) for a in modules
                      for b in graph.find_modules_directly_imported_by(a)
                      if b in modules and graph.chain_exists(importer=b, imported=a)})
    assert circles == []
