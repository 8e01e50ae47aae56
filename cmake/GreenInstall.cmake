# cmake --install: headers, libgreen, green.pc and the CMake package (find_package(green)).
include(CMakePackageConfigHelpers)

install(TARGETS green green_patch EXPORT greenTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS green-run RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# gdb commands green-info / green-bt, auto-loaded with libgreen: gdb looks under
# <datadir>/gdb/auto-load followed by the library's absolute path, so the path is computed
# at install time from the prefix actually used (cmake --install --prefix relocates it).
install(CODE "
  set(libdir \"${CMAKE_INSTALL_LIBDIR}\")
  if(NOT IS_ABSOLUTE \"\${libdir}\")
    set(libdir \"\${CMAKE_INSTALL_PREFIX}/\${libdir}\")
  endif()
  file(INSTALL \"${PROJECT_SOURCE_DIR}/src/gdb/green_gdb.py\"
       DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DATADIR}/gdb/auto-load\${libdir}\"
       RENAME \"libgreen.so.${PROJECT_VERSION}-gdb.py\")
")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/green DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT greenTargets NAMESPACE green:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/green)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/greenConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/greenConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/green)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/greenConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/greenConfig.cmake ${PROJECT_BINARY_DIR}/greenConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/green)

file(RELATIVE_PATH GREEN_PC_PREFIX_FROM_PCDIR ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" GREEN_PC_PREFIX_FROM_PCDIR "${GREEN_PC_PREFIX_FROM_PCDIR}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/green.pc.in ${PROJECT_BINARY_DIR}/green.pc @ONLY)
configure_file(${PROJECT_SOURCE_DIR}/cmake/green-patch.pc.in ${PROJECT_BINARY_DIR}/green-patch.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/green.pc ${PROJECT_BINARY_DIR}/green-patch.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
