# tests/ir/lit.cfg.py - lit configuration for the IR transformation tests.
# ctest runs: lit --param gpt2c=PATH --param filecheck=PATH --param exec_root=DIR tests/ir
import os
import lit.formats

config.name = "gpt2c-ir"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".ir"]
config.excludes = ["Inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = lit_config.params.get("exec_root", os.path.join(config.test_source_root, "Output"))

gpt2c = lit_config.params.get("gpt2c")
filecheck = lit_config.params.get("filecheck")
if not gpt2c or not filecheck:
    lit_config.fatal("pass --param gpt2c=PATH --param filecheck=PATH")
config.substitutions.append(("%gpt2c", gpt2c))
config.substitutions.append(("FileCheck", filecheck))
config.substitutions.append(("%inputs", os.path.join(config.test_source_root, "Inputs")))
# FileCheck's directory also holds `not`, which negative tests use.
config.environment["PATH"] = os.path.dirname(filecheck) + os.pathsep + os.environ.get("PATH", "")
