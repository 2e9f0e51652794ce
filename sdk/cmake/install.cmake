# Install layout and packages (docs/sdk.md):
#   <prefix>/bin/weft, weft-plugin-check     the runner and the conformance checker
#   <prefix>/lib/libweft.so                  the host library
#   <prefix>/lib/weft/plugins/weft-*.so      builtin plugins
#   <prefix>/include/weft/*.h                ABI headers, sdk.h, weft.h
#   <prefix>/lib/libweft_sdk.a               the SDK plugins link statically
#   <prefix>/lib/cmake/weft/                 find_package(weft)
#   <prefix>/lib/pkgconfig/weft-plugin.pc    pkg-config for plugin builds
# Every path is relative to the prefix, so `cmake --install --prefix P` works
# for any P, not only the configured CMAKE_INSTALL_PREFIX.
# Included from the top-level CMakeLists.txt after weft_abi and weft_sdk exist
# and before the executables, so they pick up the install RPATH.
include(CMakePackageConfigHelpers)

# Installed binaries find libweft beside them: P/bin -> P/lib.
set(CMAKE_INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR}")

# The ABI version, read from the header that defines it (for the packages).
file(STRINGS ${CMAKE_SOURCE_DIR}/abi/weft/abi.h _weft_abi_lines REGEX "^#define WEFT_ABI_M(AJOR|INOR) ")
string(REGEX REPLACE ".*WEFT_ABI_MAJOR ([0-9]+).*" "\\1" WEFT_ABI_VERSION_MAJOR "${_weft_abi_lines}")
string(REGEX REPLACE ".*WEFT_ABI_MINOR ([0-9]+).*" "\\1" WEFT_ABI_VERSION_MINOR "${_weft_abi_lines}")
set(WEFT_ABI_VERSION ${WEFT_ABI_VERSION_MAJOR}.${WEFT_ABI_VERSION_MINOR})

install(DIRECTORY ${CMAKE_SOURCE_DIR}/abi/weft/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/weft
  FILES_MATCHING PATTERN "*.h")
install(FILES ${CMAKE_SOURCE_DIR}/sdk/weft/sdk.h ${CMAKE_SOURCE_DIR}/core/include/weft/weft.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/weft)

# weft::abi and weft::sdk are exported targets; weft::weft is declared by
# weftConfig.cmake itself, because the in-tree target's link interface names
# pkg-config targets (cJSON) that an embedding program does not need.
set_target_properties(weft_abi PROPERTIES EXPORT_NAME abi)
set_target_properties(weft_sdk PROPERTIES EXPORT_NAME sdk)
set(_weft_sdk_link_extra "")
if(WEFT_SANITIZE)
  # A sanitised SDK archive references the sanitizer runtimes: whoever links
  # it must link them too.
  set(_weft_sdk_link_extra "-fsanitize=address,undefined")
  set_property(TARGET weft_sdk APPEND PROPERTY INTERFACE_LINK_OPTIONS
    $<INSTALL_INTERFACE:${_weft_sdk_link_extra}>)
endif()
set(WEFT_LINK_EXTRA ${_weft_sdk_link_extra}) # weft::weft needs them too (weftConfig.cmake)
install(TARGETS weft_abi weft_sdk EXPORT weftTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(_weft_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/weft)
install(EXPORT weftTargets NAMESPACE weft:: DESTINATION ${_weft_cmake_dir})
set(WEFT_LIBWEFT_FILE ${CMAKE_SHARED_LIBRARY_PREFIX}weft${CMAKE_SHARED_LIBRARY_SUFFIX})
configure_package_config_file(${CMAKE_SOURCE_DIR}/sdk/cmake/weftConfig.cmake.in
  ${CMAKE_BINARY_DIR}/sdk-package/weftConfig.cmake
  INSTALL_DESTINATION ${_weft_cmake_dir}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR CMAKE_INSTALL_LIBDIR CMAKE_INSTALL_BINDIR)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/sdk-package/weftConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_BINARY_DIR}/sdk-package/weftConfig.cmake
  ${CMAKE_BINARY_DIR}/sdk-package/weftConfigVersion.cmake
  ${CMAKE_SOURCE_DIR}/sdk/cmake/weftPlugin.cmake
  DESTINATION ${_weft_cmake_dir})

# pkg-config finds the prefix from the .pc file's own folder (${pcfiledir}).
file(RELATIVE_PATH WEFT_PC_TO_PREFIX ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" WEFT_PC_TO_PREFIX "${WEFT_PC_TO_PREFIX}")
set(WEFT_PC_LIBS_EXTRA ${_weft_sdk_link_extra})
configure_file(${CMAKE_SOURCE_DIR}/sdk/cmake/weft-plugin.pc.in ${CMAKE_BINARY_DIR}/sdk-package/weft-plugin.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/sdk-package/weft-plugin.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
