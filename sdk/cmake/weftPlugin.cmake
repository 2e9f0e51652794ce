# weft_add_plugin(<kind> <name> SOURCES src... [LIBS lib...] [OUTPUT_DIRECTORY dir] [NO_INSTALL])
#
# The out-of-tree twin of the in-tree helper: builds the module
# weft-<kind>-<name>.so against the installed SDK (weft::sdk), with only
# weft_plugin_entry exported and no undefined symbols left, and installs it
# into <prefix>/${CMAKE_INSTALL_LIBDIR}/weft/plugins of the project being
# built. Install into weft's own prefix (or list the folder in
# $WEFT_PLUGIN_PATH) and the runner finds it. Creates the target
# weft-<kind>-<name>.
include_guard(GLOBAL)
include(GNUInstallDirs)

set(WEFT_PLUGIN_KINDS backend drafter verifier sampler grammar kv)

function(weft_add_plugin kind name)
  cmake_parse_arguments(P "NO_INSTALL" "OUTPUT_DIRECTORY" "SOURCES;LIBS" ${ARGN})
  if(NOT kind IN_LIST WEFT_PLUGIN_KINDS)
    message(FATAL_ERROR "weft_add_plugin: unknown kind '${kind}' (one of: ${WEFT_PLUGIN_KINDS})")
  endif()
  if(NOT name MATCHES "^[a-z0-9_-]+$")
    message(FATAL_ERROR "weft_add_plugin: name '${name}' is not [a-z0-9_-]+ (it is the component's name too)")
  endif()
  if(NOT P_SOURCES)
    message(FATAL_ERROR "weft_add_plugin(${kind} ${name}): no SOURCES")
  endif()
  set(tgt weft-${kind}-${name})
  add_library(${tgt} MODULE ${P_SOURCES})
  set_target_properties(${tgt} PROPERTIES PREFIX "" OUTPUT_NAME ${tgt}
    C_STANDARD 11 C_STANDARD_REQUIRED ON C_VISIBILITY_PRESET hidden POSITION_INDEPENDENT_CODE ON)
  if(P_OUTPUT_DIRECTORY)
    set_target_properties(${tgt} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${P_OUTPUT_DIRECTORY})
  endif()
  target_link_libraries(${tgt} PRIVATE weft::sdk ${P_LIBS})
  if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang" AND NOT APPLE)
    target_link_options(${tgt} PRIVATE -Wl,--no-undefined)
  endif()
  if(NOT P_NO_INSTALL)
    install(TARGETS ${tgt} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/weft/plugins)
  endif()
endfunction()
