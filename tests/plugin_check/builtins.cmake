# plugin_check_builtins: weft-plugin-check on every builtin plugin file, in
# one run, with the parameters in builtins.args and the stories260K model.
# A FAIL listed in builtins.xfail is a known defect and tolerated; an
# unlisted FAIL fails the test, and so does a listed one that now passes
# (remove it from the list).
#   cmake -DCHECKER=exe -DPLUGIN_DIR=dir -DMODEL=file -DSOURCE_DIR=dir [-DSANITIZE=ON] -P builtins.cmake
cmake_minimum_required(VERSION 3.20)
if(DEFINED ENV{WEFT_MODELS} AND NOT "$ENV{WEFT_MODELS}" STREQUAL "")
  set(MODEL "$ENV{WEFT_MODELS}/derived/stories260K-f32-v3.gguf")
endif()
if(NOT EXISTS "${MODEL}")
  message(FATAL_ERROR "model not found: ${MODEL} (set WEFT_MODELS)")
endif()
file(GLOB plugins "${PLUGIN_DIR}/weft-*.so")
if(NOT plugins)
  message(FATAL_ERROR "no builtin plugins in ${PLUGIN_DIR}")
endif()
set(args "")
file(STRINGS "${SOURCE_DIR}/builtins.args" lines)
foreach(line IN LISTS lines)
  if(NOT line MATCHES "^#" AND NOT line STREQUAL "")
    list(APPEND args "${line}")
  endif()
endforeach()
# relative file parameters in builtins.args (a nested model) name files of
# the models folder the model lies in
get_filename_component(models_dir "${MODEL}" DIRECTORY)
get_filename_component(models_dir "${models_dir}" DIRECTORY)
execute_process(COMMAND ${CHECKER} --model ${MODEL} --models ${models_dir} ${args} ${plugins}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")

# Entries tagged [sanitize] are expected only in sanitizer builds
# (-DSANITIZE=ON), where undefined behaviour ends a rule's process.
set(known "")
file(STRINGS "${SOURCE_DIR}/builtins.xfail" lines)
foreach(line IN LISTS lines)
  if(line MATCHES "^([a-z-]+ [a-z0-9_-]+: [a-z.-]+)( +\\[sanitize\\])?")
    if(NOT CMAKE_MATCH_2 OR SANITIZE)
      list(APPEND known "${CMAKE_MATCH_1}")
    endif()
  endif()
endforeach()
set(problems "")
string(REPLACE ";" "," out "${out}") # reasons are free text, lists split on ';'
string(REGEX MATCHALL "(^|\n)FAIL [^\n]*" fails "${out}")
foreach(f IN LISTS fails)
  string(REGEX REPLACE "^\nFAIL |^FAIL " "" f "${f}")
  string(REGEX MATCH "^[a-z-]+ [a-z0-9_-]+: [a-z.-]+" id "${f}")
  if(NOT id IN_LIST known)
    string(APPEND problems "  unexpected: ${f}\n")
  endif()
endforeach()
foreach(id IN LISTS known)
  string(REPLACE "." "\\." pattern "${id}")
  if(NOT out MATCHES "(^|\n)FAIL ${pattern}: ")
    string(APPEND problems "  now passes, remove it from builtins.xfail: ${id}\n")
  endif()
endforeach()
if(NOT out MATCHES "weft-plugin-check: [0-9]+ components")
  string(APPEND problems "  no summary line (exit status ${rc})\n")
endif()
if(problems)
  message(FATAL_ERROR "builtin plugins:\n${problems}")
endif()
