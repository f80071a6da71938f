# FerryInstall.cmake - what `cmake --install` puts under the prefix: the
# library (shared + static), the headers (with the generated ferry/version.h),
# the CLI, the man page, a pkg-config file (ferry.pc) and a CMake package
# (find_package(ferry): ferry::ferry, ferry::ferry_static).  Both metadata
# files are relocatable: the prefix given to `cmake --install --prefix` works.
# tests/integration/install_prefix.sh builds examples/c against the result.
include(CMakePackageConfigHelpers)

set(FERRY_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/ferry)

install(TARGETS ferry RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS ferry_shared EXPORT ferryTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS ferry_static EXPORT ferryStaticTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/ferry DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
install(FILES ${FERRY_GENERATED_INCLUDE}/ferry/version.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/ferry)
install(FILES ${CMAKE_BINARY_DIR}/ferry.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

# pkg-config.  The static library's link line is `pkg-config --static --libs
# ferry`: Libs.private names the libraries libferry.a calls (as their own
# `pkg-config --libs` gives them).  Not Requires.private: Debian's libpq.pc and
# libcurl.pc list, for --static, libraries their -dev packages do not ship
# (-lpgcommon, -lnghttp2, ...), which would break the common static link
# (libferry.a with the system's shared libraries); the public headers need no
# flags of theirs.
set(FERRY_PC_MODULES libpq libcurl zlib libcrypto expat jansson libssh2 libmariadb libzstd snappy)
pkg_check_modules(FERRY_PC_DEPS QUIET ${FERRY_PC_MODULES})
if(FERRY_PC_DEPS_FOUND)
  set(FERRY_PC_LIBS_PRIVATE ${FERRY_PC_DEPS_LDFLAGS})
  list(REMOVE_DUPLICATES FERRY_PC_LIBS_PRIVATE)
else()
  set(FERRY_PC_LIBS_PRIVATE -lpq -lcurl -lz -lcrypto -lexpat -ljansson -lssh2 -lmariadb -lzstd -lsnappy)
endif()
if(ISAL_LIBRARY AND ISAL_INCLUDE_DIR)
  list(APPEND FERRY_PC_LIBS_PRIVATE -lisal)
endif()
list(APPEND FERRY_PC_LIBS_PRIVATE -pthread -lm)
list(JOIN FERRY_PC_LIBS_PRIVATE " " FERRY_PC_LIBS_PRIVATE)
# ${pcfiledir} relative to the prefix, so the file works wherever it is installed
file(RELATIVE_PATH FERRY_PC_PREFIX_FROM_PCDIR "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
string(REGEX REPLACE "/$" "" FERRY_PC_PREFIX_FROM_PCDIR "${FERRY_PC_PREFIX_FROM_PCDIR}")
configure_file(${CMAKE_SOURCE_DIR}/cmake/ferry.pc.in ${CMAKE_BINARY_DIR}/ferry.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/ferry.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# CMake package.  ferry::ferry needs nothing more; ferry::ferry_static is
# defined when the libraries it links are found (ferryConfig.cmake).
install(EXPORT ferryTargets NAMESPACE ferry:: DESTINATION ${FERRY_CMAKE_DIR})
install(EXPORT ferryStaticTargets NAMESPACE ferry:: DESTINATION ${FERRY_CMAKE_DIR})
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/ferryConfig.cmake.in
  ${CMAKE_BINARY_DIR}/ferryConfig.cmake INSTALL_DESTINATION ${FERRY_CMAKE_DIR})
# 0.x: a minor release may change the API
write_basic_package_version_file(${CMAKE_BINARY_DIR}/ferryConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/ferryConfig.cmake ${CMAKE_BINARY_DIR}/ferryConfigVersion.cmake
  DESTINATION ${FERRY_CMAKE_DIR})
