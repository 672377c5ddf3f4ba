# EmberInstall.cmake: what `cmake --install` (and `make install`) puts where: libember, ember.h,
# a CMake package (find_package(ember) -> ember::ember) and a pkg-config file (ember.pc).
# The `ember` program installs itself from src/cli, the CUDA plugin from src/cuda.
include(CMakePackageConfigHelpers)

set(EMBER_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/ember)

install(TARGETS ember EXPORT emberTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PROJECT_SOURCE_DIR}/include/ember.h ${PROJECT_BINARY_DIR}/include/ember_version.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# The CMake package. libember's own dependencies (OpenBLAS, OpenMP, OpenCL) are private to
# the shared library, so a consumer needs nothing but the library itself.
install(EXPORT emberTargets NAMESPACE ember:: DESTINATION ${EMBER_INSTALL_CMAKEDIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/ember-config.cmake.in
  ${PROJECT_BINARY_DIR}/ember-config.cmake
  INSTALL_DESTINATION ${EMBER_INSTALL_CMAKEDIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/ember-config-version.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/ember-config.cmake ${PROJECT_BINARY_DIR}/ember-config-version.cmake
  DESTINATION ${EMBER_INSTALL_CMAKEDIR})

# The pkg-config file finds its prefix relative to itself, so the installed tree may be
# moved, and `cmake --install --prefix P` at install time works (CMAKE_INSTALL_PREFIX is
# only known at configure time).
file(RELATIVE_PATH EMBER_PC_TO_PREFIX
  "/ember-prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/ember-prefix")
configure_file(${CMAKE_CURRENT_LIST_DIR}/ember.pc.in ${PROJECT_BINARY_DIR}/ember.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/ember.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
