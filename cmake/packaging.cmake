# Installing like a Debian program: the man pages, the shell completions, the example config and
# systemd unit (all component cli), and the Debian packages `cpack -G DEB` makes from a Release
# build configured with -DCMAKE_INSTALL_PREFIX=/usr (scripts/check-deb builds and checks them):
#   pipemux      components cli and guard: the program, its helper, pages, completions, examples
#   pipemux-dev  components core, log, config and dev: static libraries, headers, CMake and
#                pkg-config files; depends on pipemux for pipemux-guard, which the library starts
set(pipemux_doc_dir ${CMAKE_INSTALL_DOCDIR})                     # share/doc/pipemux
set(PIPEMUX_DOC_DIR ${CMAKE_INSTALL_FULL_DOCDIR})
set(PIPEMUX_DOC_EXAMPLES ${CMAKE_INSTALL_FULL_DOCDIR}/examples)

# --- man pages: one roff source each in man/, the version and paths configured in, then
# compressed as Debian ships them. The date honours SOURCE_DATE_EPOCH (reproducible builds).
string(TIMESTAMP PIPEMUX_MAN_DATE "%Y-%m-%d" UTC)
set(pipemux_man_gz)
foreach(page pipemux.1 pipemux.toml.5)
  configure_file(man/${page}.in ${PROJECT_BINARY_DIR}/man/${page} @ONLY)
  add_custom_command(OUTPUT ${PROJECT_BINARY_DIR}/man/${page}.gz
    COMMAND gzip -9nc ${page} > ${page}.gz
    DEPENDS ${PROJECT_BINARY_DIR}/man/${page}
    WORKING_DIRECTORY ${PROJECT_BINARY_DIR}/man VERBATIM)
  list(APPEND pipemux_man_gz ${PROJECT_BINARY_DIR}/man/${page}.gz)
endforeach()
# Debian's changelog of a native package, also compressed (share/doc/<package>/changelog.gz).
configure_file(packaging/changelog.in ${PROJECT_BINARY_DIR}/packaging/changelog @ONLY)
add_custom_command(OUTPUT ${PROJECT_BINARY_DIR}/packaging/changelog.gz
  COMMAND gzip -9nc changelog > changelog.gz
  DEPENDS ${PROJECT_BINARY_DIR}/packaging/changelog
  WORKING_DIRECTORY ${PROJECT_BINARY_DIR}/packaging VERBATIM)
add_custom_target(pipemux_man ALL DEPENDS ${pipemux_man_gz} ${PROJECT_BINARY_DIR}/packaging/changelog.gz)

install(FILES ${PROJECT_BINARY_DIR}/man/pipemux.1.gz
  DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT cli)
install(FILES ${PROJECT_BINARY_DIR}/man/pipemux.toml.5.gz
  DESTINATION ${CMAKE_INSTALL_MANDIR}/man5 COMPONENT cli)

# --- shell completions, where each shell's packaged completions are looked for --------------
install(FILES completions/pipemux.bash RENAME pipemux
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions COMPONENT cli)
install(FILES completions/_pipemux
  DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions COMPONENT cli)
install(FILES completions/pipemux.fish
  DESTINATION ${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d COMPONENT cli)

# --- documentation: the README, the default config and a systemd unit as examples; each
# package's copyright and changelog -------------------------------------------------------------
install(FILES README.md DESTINATION ${pipemux_doc_dir} COMPONENT cli)
install(FILES config/pipemux.toml packaging/pipemux.service
  DESTINATION ${pipemux_doc_dir}/examples COMPONENT cli)
foreach(package_component pipemux:cli pipemux-dev:dev)
  string(REPLACE ":" ";" package_component ${package_component})
  list(GET package_component 0 package)
  list(GET package_component 1 component)
  install(FILES packaging/copyright ${PROJECT_BINARY_DIR}/packaging/changelog.gz
    DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${package} COMPONENT ${component})
endforeach()

# --- CPack: two Debian packages ---------------------------------------------------------------
set(CPACK_PACKAGE_NAME pipemux)
set(CPACK_PACKAGE_VENDOR "pipemux maintainers")
set(CPACK_PACKAGE_CONTACT "Seed d102a4c9 maintainers <maintainers@users.noreply.r-seed-d102a4c9.example>")
# No CPACK_PACKAGE_DESCRIPTION_SUMMARY: CPackDeb would put it above each package's own first line.
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES ON)
set(CPACK_GENERATOR DEB)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL cli guard core log config dev)
set(CPACK_COMPONENTS_GROUPING ONE_PER_GROUP)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)                 # pipemux_0.1.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)                  # Depends from dpkg-shlibdeps
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)

set(CPACK_DEBIAN_PROGRAM_PACKAGE_NAME pipemux)
set(CPACK_DEBIAN_PROGRAM_PACKAGE_SECTION utils)
# The first line is the synopsis; CPackDeb indents the others.
set(CPACK_DEBIAN_PROGRAM_DESCRIPTION
"run child processes and stream their output into one log
pipemux runs several programs at once, like foreman, honcho or concurrently,
and streams what they write through pipes into one timestamped log with a
label per child: no lost, torn or interleaved lines, no output held back by
buffering, no zombies or orphans after Ctrl-C. It reads Procfiles and .env
files, restarts children, and logs as text or JSON lines to files (rotated
too), the systemd journal or syslog.")

set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_NAME pipemux-dev)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_SECTION libdevel)
# The headers include Boost.Asio, fmt and spdlog; the config library links toml++, the log
# library librelp (relp://) and OpenSSL (tls://); the library starts pipemux-guard, which the
# pipemux package installs.
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_DEPENDS
  "pipemux (= ${PROJECT_VERSION}), libboost1.81-dev, libfmt-dev, libspdlog-dev, libtomlplusplus-dev, librelp-dev, libssl-dev")
set(CPACK_DEBIAN_DEVELOPMENT_DESCRIPTION
"C++ library of pipemux: supervise processes on a Boost.Asio io_context
The static libraries pipemux-core (the supervisor: children, pipes, stop
sequence, cgroups), pipemux-log (text and JSON formats, files, journal and
syslog sinks, an spdlog adapter) and pipemux-config (the TOML config, .env
files and Procfiles), with their headers, CMake package and pkg-config files.")

include(CPack)
cpack_add_component_group(program DISPLAY_NAME "pipemux")
cpack_add_component_group(development DISPLAY_NAME "pipemux-dev")
foreach(component cli guard)
  cpack_add_component(${component} GROUP program)
endforeach()
foreach(component core log config dev)
  cpack_add_component(${component} GROUP development)
endforeach()
