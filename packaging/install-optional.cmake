# Installs what another part of the tree may or may not have made: the man pages that the `man`
# target generated into ${SLUICE_MAN_DIR} (sluice.8, sluice.toml.5, ...), compressed as Debian
# wants them (gzip -9n), and the bash completion ${SLUICE_COMPLETION}. Nothing, and no empty
# directory, for what is not there.
set(prefix "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}")
file(GLOB pages "${SLUICE_MAN_DIR}/*.[1-8]")
foreach(page ${pages})
  get_filename_component(name "${page}" NAME)
  string(REGEX REPLACE "^.*\\.([1-8])$" "\\1" section "${name}")
  set(dir "${prefix}/share/man/man${section}")
  file(MAKE_DIRECTORY "${dir}")
  execute_process(COMMAND gzip -9nc "${page}" OUTPUT_FILE "${dir}/${name}.gz" RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "gzip ${page} failed")
  endif()
  message(STATUS "Installing: ${dir}/${name}.gz")
endforeach()
if(EXISTS "${SLUICE_COMPLETION}")
  # file(INSTALL) puts DESTDIR in front of the destination itself.
  file(INSTALL "${SLUICE_COMPLETION}" DESTINATION "${CMAKE_INSTALL_PREFIX}/share/bash-completion/completions"
    PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
endif()
