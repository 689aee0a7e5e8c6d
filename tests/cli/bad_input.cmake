# Bad input (docs/reliability.md, "Bad input"): the reproducers of issue 19,
# each refused before anything runs with one sentence and exit status 2 (or,
# for a sweep that ran out of time, exit 1). Included from tests/CMakeLists.txt,
# which defines cohort_cli_test(), _train and _configs. No unbalanced "]" in a
# pattern: CMake would stop splitting the arguments there ("." matches it).
set(_tune $<TARGET_FILE:cohort-tune>)
set(_bad bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/bad_input.sh)
set(_branin ${_configs}/sweep_branin_asha.json)
set(_fmnist_sweep ${_configs}/sweep_fmnist_random.json)

# Nesting: refused at parse time, never walked recursively (it crashed with SIGSEGV).
cohort_cli_test(deep_variant_nesting 2 "input.json: the JSON nests objects and lists deeper than 64 levels"
  ${_bad} deep_object ${_train} --config @DIR@/input.json --print-config)
cohort_cli_test(deep_array_nesting 2 "input.json: the JSON nests objects and lists deeper than 64 levels"
  ${_bad} deep_array ${_train} --config @DIR@/input.json --print-config)
cohort_cli_test(deep_sweep_nesting 2 "input.json: the JSON nests objects and lists deeper than 64 levels"
  ${_bad} deep_sweep ${_tune} --config @DIR@/input.json --print-config)
cohort_cli_test(deep_set_value 2 "--set model.hidden=.*deeper than 64 levels"
  ${_train} --config ${_configs}/fmnist_mlp.json --print-config
  --set "model.hidden=[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]")

# Durations and budgets become clock counts and epoch counts: bounded so that no conversion overflows.
cohort_cli_test(sleep_s_bound 2 "\"objective.sleep_s\" must be between 0 and 1000000000, got 1e\\+30"
  ${_tune} --config ${_branin} --set objective.sleep_s=1e30 --print-config)
cohort_cli_test(budget_bound 2 "\"budget.max\" must be in \\(0, 1000000000., got 1e\\+30"
  ${_tune} --config ${_branin} --set budget.max=1e30 --print-config)

# Integer spans: an int parameter over all of int64 (it crashed with SIGFPE), fresh and on --resume.
cohort_cli_test(int_span_overflow 2 "\"space.x1\": an int parameter's bounds must lie within \\+-9007199254740992"
  ${_nothing_written} ${_tune} --config ${_branin}
  --set "space.x1={\"type\":\"int\",\"low\":-9223372036854775808,\"high\":9223372036854774784}")
cohort_cli_test(int_span_overflow_resume 2 "\"space.x1\": an int parameter's bounds must lie within \\+-9007199254740992"
  ${_bad} resume_int_span ${_tune} --config ${_branin})

# Integers never wrap; numbers stay within what a float32 holds.
cohort_cli_test(seed_beyond_int64 2 "fmnist_mlp.json \\(with --set overrides\\): \"seed\" must be an integer between 0 and 9223372036854775807, got 18446744073709551615"
  ${_train} --config ${_configs}/fmnist_mlp.json --set seed=18446744073709551615 --print-config)
cohort_cli_test(epochs_beyond_int32 2 "\"trainer.epochs\" must be an integer between 1 and 2147483647, got 1e\\+19"
  ${_train} --config ${_configs}/fmnist_mlp.json --set trainer.epochs=1e19 --print-config)
cohort_cli_test(threads_wrap 2 "\"runtime.threads\" must be between 0 and 1024, got 4294967297"
  ${_train} --config ${_configs}/fmnist_mlp.json --set runtime.threads=4294967297 --print-config)
cohort_cli_test(threads_bound 2 "\"runtime.threads\" must be between 0 and 1024, got 100000"
  ${_train} --config ${_configs}/fmnist_mlp.json --set runtime.threads=100000)
cohort_cli_test(num_workers_bound 2 "\"loader.num_workers\" must be between -1 and 1024, got 100000"
  ${_train} --config ${_configs}/fmnist_mlp.json --set loader.num_workers=100000)
cohort_cli_test(sweep_seed_beyond_int64 2 "\"seed\" must be an integer between 0 and 9223372036854775807"
  ${_tune} --config ${_branin} --set seed=18446744073709551615 --print-config)
cohort_cli_test(lr_beyond_float 2 "\"optimizer.lr\" must be a finite number of at most 3.40282e\\+38 in magnitude"
  ${_train} --config ${_configs}/fmnist_mlp.json --set optimizer.lr=1e308 --print-config)
cohort_cli_test(number_beyond_double 2 "input.json: the number '1e309' is too large for a double"
  ${_bad} huge_number ${_train} --config @DIR@/input.json --print-config)
cohort_cli_test(set_number_beyond_double 2 "--set seed=1e309: the number '1e309' is too large for a double"
  ${_train} --config ${_configs}/fmnist_mlp.json --set seed=1e309 --print-config)

# What JSON allows and a config must not have.
cohort_cli_test(trailing_nul 2 "input.json: byte 11 is a NUL character"
  ${_bad} nul ${_train} --config @DIR@/input.json --print-config)
cohort_cli_test(duplicate_key 2 "input.json: the key \"optimizer.lr\" is given twice in one object"
  ${_bad} duplicate ${_train} --config @DIR@/input.json --print-config)
cohort_cli_test(set_invalid_utf8 2 "--set output_dir=.*: not valid UTF-8 text"
  ${_bad} invalid_utf8 ${_train} --config ${_configs}/fmnist_mlp.json --print-config)

# Spaces that cannot be sampled, or would exhaust the coordinator, are refused before the sweep starts.
cohort_cli_test(space_nonfinite_span 2 "\"space.x1\": the span high - low \\(1e\\+308 - -1e\\+308\\) is beyond a double"
  ${_nothing_written} ${_tune} --config ${_branin} --set "space.x1={\"type\":\"uniform\",\"low\":-1e308,\"high\":1e308}")
cohort_cli_test(grid_too_large 2 "the grid crosses more than 100000 points \\(at \"space.x2\", 10001 values\\)"
  ${_nothing_written} ${_tune} --config ${_branin} --set sampler.name=grid
  --set "space.x1={\"type\":\"int\",\"low\":0,\"high\":10000}" --set "space.x2={\"type\":\"int\",\"low\":0,\"high\":10000}")
cohort_cli_test(categorical_too_large 2 "\"space.c\": \"values\" lists 100001 values, more than the 100000"
  ${_bad} many_values ${_tune} --config @DIR@/input.json --set output_dir=@DIR@/sweep)
cohort_cli_test(bohb_candidates_bound 2 "\"sampler.num_candidates\" must be between 1 and 100000, got 1000000000"
  ${_nothing_written} ${_tune} --config ${_branin} --set sampler.name=bohb --set sampler.num_candidates=1e9)
cohort_cli_test(tpe_candidates_bound 2 "\"sampler.num_candidates\" must be between 1 and 100000, got 1000000000"
  ${_nothing_written} ${_tune} --config ${_branin} --set sampler.name=tpe --set sampler.num_candidates=1000000000)
cohort_cli_test(gp_max_points_bound 2 "\"sampler.max_points\" must be between 2 and 1000, got 5000"
  ${_nothing_written} ${_tune} --config ${_branin} --set sampler.name=gp --set sampler.max_points=5000)

# A sweep that cannot work is refused before any trial runs, leaving no journal.
cohort_cli_test(base_with_function 2 "\"base\" has no use with objective.function"
  ${_nothing_written} ${_tune} --config ${_branin} --set base=fmnist_cnn.json)
cohort_cli_test(space_key_not_in_base 2 "\"space.optimizer.lrr\" is not a key of the base training config \\(did you mean \"optimizer.lr\"\\?\\)"
  ${_nothing_written} ${_tune} --config ${_fmnist_sweep}
  --set "space.optimizer.lrr={\"type\":\"uniform\",\"low\":0.01,\"high\":0.1}")

# Messages: short, on one line, about the right thing.
cohort_cli_test(long_value_excerpt 2 "\"model.name\" must be one of .*not \"m{80}…\"\\.$"
  ${_bad} long_string ${_train} --config @DIR@/input.json --print-config)
cohort_cli_test(newline_escaped 2 "\"optimizer.name\" must be one of .*not \"sgd\\\\nadam\""
  ${_bad} newline ${_train} --config ${_configs}/fmnist_mlp.json --print-config)
cohort_cli_test(config_is_directory 2 "is a directory, not a config file"
  ${_bad} - ${_train} --config @DIR@)
cohort_cli_test(random_takes_no_keys 2 "unknown key \"sampler.num_candidates\": \"sampler\" with \"name\": \"random\" takes no other keys"
  ${_tune} --config ${_branin} --set sampler.num_candidates=24 --print-config)
cohort_cli_test(asha_hyperband_key 2 "unknown key \"scheduler.max_brackets\". did you mean \"scheduler.brackets\"\\?"
  ${_tune} --config ${_branin} --set scheduler.max_brackets=2 --print-config)
cohort_cli_test(asha_too_many_brackets 2 "\"scheduler.brackets\" is 6, but budget 1 to 81 at eta 3 has 5 rungs to start a bracket at. use 1 to 5, or 0 for all\\.$"
  ${_tune} --config ${_branin} --set scheduler.brackets=6 --print-config)
cohort_cli_test(set_space_dotted_key 0 "\"high\": 0.25"
  ${_tune} --config ${_fmnist_sweep} --print-config
  --set "space.optimizer.lr={\"type\":\"loguniform\",\"low\":0.001,\"high\":0.25}")
cohort_cli_test(time_limit_no_trial 1 "no trial completed. time_limit_s .* ran out before the first one"
  ${_bad} - ${_tune} --config ${_branin} --set time_limit_s=1e-300 --set output_dir=@DIR@/sweep)
# A setting that only meets the data in the first step is refused there, naming the config like every other key.
cohort_cli_test(micro_batches_names_file 2
  "synthetic.json: \"strategy.micro_batches\" is 1000, but a training step has only 32 examples"
  ${_train} --config ${CMAKE_CURRENT_SOURCE_DIR}/cli/synthetic.json --set output_dir= --set strategy.name=pipeline
  --set strategy.micro_batches=1000)
