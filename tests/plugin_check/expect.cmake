# Runs weft-plugin-check and checks its verdict:
#   cmake -DCHECKER=exe "-DARGS=arg;arg" -DEXPECT=pass -P expect.cmake
#   cmake -DCHECKER=exe "-DARGS=arg;arg" "-DEXPECT=<kind> <name>: <rule>" -P expect.cmake
# "pass": exit status 0. Otherwise: a non-zero status and a FAIL line for
# that component and rule (what the checker's report promises).
cmake_minimum_required(VERSION 3.20)
execute_process(COMMAND ${CHECKER} ${ARGS} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(EXPECT STREQUAL "pass")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "weft-plugin-check exited with ${rc}; every rule should pass or skip")
  endif()
  return()
endif()
if(rc EQUAL 0)
  message(FATAL_ERROR "weft-plugin-check exited with 0, but '${EXPECT}' should fail")
endif()
string(REPLACE "." "\\." pattern "FAIL ${EXPECT}: ")
if(NOT out MATCHES "(^|\n)${pattern}")
  message(FATAL_ERROR "no FAIL line for '${EXPECT}' in the report (exit status ${rc})")
endif()
