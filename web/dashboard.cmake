# SPDX-License-Identifier: MIT
# dashboard.cmake - the web dashboard of `vigie serve` (docs/dashboard.md), included by the top
# CMakeLists.txt once vigie_server exists. web/ is an npm project (package.json, pinned by
# package-lock.json); at build time `npm ci` installs it into the BUILD tree (never the source
# tree, so build trees do not race), the verdict list is generated from include/vigie/vigie.h,
# esbuild bundles src/ into <build>/web/dist, and embed.cmake turns dist/ into a C asset table
# compiled into vigie. Rebuilt when web/ or the verdicts change.
# -DVG_DASHBOARD=OFF (no node/npm needed) embeds a placeholder page instead.
# Sanitizer and fuzz builds test the C code: they embed the placeholder unless asked otherwise.
if(VG_SANITIZE OR VG_FUZZ)
  set(VG_DASHBOARD_DEFAULT OFF)
else()
  set(VG_DASHBOARD_DEFAULT ON)
endif()
option(VG_DASHBOARD "Build the web dashboard with npm + esbuild and embed it in vigie"
  ${VG_DASHBOARD_DEFAULT})

set(VG_WEB_SRC ${CMAKE_SOURCE_DIR}/web)
set(VG_WEB_OUT ${CMAKE_BINARY_DIR}/web)
set(VG_WEB_ASSETS_C ${VG_WEB_OUT}/dashboard_assets.c)

if(VG_DASHBOARD)
  find_program(VG_NODE NAMES node nodejs)
  find_program(VG_NPM npm)
  if(NOT VG_NODE OR NOT VG_NPM)
    message(FATAL_ERROR "the dashboard needs node and npm: run scripts/install-deps "
                        "(or configure with -DVG_DASHBOARD=OFF for a binary without it)")
  endif()
  file(GLOB_RECURSE VG_WEB_SOURCES CONFIGURE_DEPENDS ${VG_WEB_SRC}/src/*)
  set(VG_WEB_STAMP ${VG_WEB_OUT}/node_modules/.vigie-npm-ci)
  file(MAKE_DIRECTORY ${VG_WEB_OUT})
  add_custom_command(OUTPUT ${VG_WEB_STAMP}
    COMMAND ${CMAKE_COMMAND} -E copy_if_different ${VG_WEB_SRC}/package.json
            ${VG_WEB_SRC}/package-lock.json ${VG_WEB_OUT}
    COMMAND ${VG_NPM} ci --no-audit --no-fund --loglevel=error
    COMMAND ${CMAKE_COMMAND} -E touch ${VG_WEB_STAMP}
    WORKING_DIRECTORY ${VG_WEB_OUT}
    DEPENDS ${VG_WEB_SRC}/package.json ${VG_WEB_SRC}/package-lock.json
    COMMENT "dashboard: npm ci (web/package-lock.json)"
    VERBATIM)
  # The verdict list (names most serious first, and meanings) is generated from VG_VERDICT_MAP
  # in include/vigie/vigie.h by cli/verdicts_cmd.c compiled alone (`vigie verdicts --js`; vigie
  # embeds the dashboard, so it cannot generate it) into <build>/web/gen/verdict_names.js, then
  # copied into node_modules as the package vigie-verdict-names, where esbuild resolves bare
  # imports (build.mjs: nodePaths). npm ci empties node_modules: the copy follows its stamp.
  add_executable(vigie_verdicts ${CMAKE_SOURCE_DIR}/cli/verdicts_cmd.c)
  target_compile_definitions(vigie_verdicts PRIVATE VG_VERDICTS_TOOL)
  target_include_directories(vigie_verdicts PRIVATE ${CMAKE_SOURCE_DIR}/cli)
  target_link_libraries(vigie_verdicts PRIVATE vigie_engine)
  set(VG_WEB_GEN ${VG_WEB_OUT}/gen/verdict_names.js)
  set(VG_WEB_GEN_PKG ${VG_WEB_OUT}/node_modules/vigie-verdict-names/index.js)
  set(VG_WEB_GEN_CHECK ${VG_WEB_OUT}/gen/verdicts-check.mjs)
  add_custom_command(OUTPUT ${VG_WEB_GEN}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${VG_WEB_OUT}/gen
    COMMAND vigie_verdicts --js --output ${VG_WEB_GEN}
    DEPENDS vigie_verdicts
    COMMENT "dashboard: the verdict list from include/vigie/vigie.h"
    VERBATIM)
  # Then web/src/verdicts.js alone, bundled for node with that list and run: it throws, and the
  # build stops before the copy, when a verdict has no style or a style names no verdict.
  add_custom_command(OUTPUT ${VG_WEB_GEN_PKG}
    BYPRODUCTS ${VG_WEB_GEN_CHECK}
    COMMAND ${VG_WEB_OUT}/node_modules/.bin/esbuild ${VG_WEB_SRC}/src/verdicts.js --bundle
            --platform=node --format=esm --log-level=warning
            --alias:vigie-verdict-names=${VG_WEB_GEN} --outfile=${VG_WEB_GEN_CHECK}
    COMMAND ${VG_NODE} ${VG_WEB_GEN_CHECK}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${VG_WEB_OUT}/node_modules/vigie-verdict-names
    COMMAND ${CMAKE_COMMAND} -E copy ${VG_WEB_GEN} ${VG_WEB_GEN_PKG}
    DEPENDS ${VG_WEB_GEN} ${VG_WEB_STAMP} ${VG_WEB_SRC}/src/verdicts.js ${VG_WEB_SRC}/src/dom.js
    COMMENT "dashboard: every verdict has a style (web/src/verdicts.js)"
    VERBATIM)
  set(VG_WEB_DIST ${VG_WEB_OUT}/dist/index.html ${VG_WEB_OUT}/dist/app.js ${VG_WEB_OUT}/dist/app.css)
  add_custom_command(OUTPUT ${VG_WEB_DIST}
    COMMAND ${VG_NODE} ${VG_WEB_SRC}/build.mjs --outdir ${VG_WEB_OUT}/dist
            --node-modules ${VG_WEB_OUT}/node_modules
    DEPENDS ${VG_WEB_STAMP} ${VG_WEB_GEN_PKG} ${VG_WEB_SRC}/build.mjs ${VG_WEB_SOURCES}
    COMMENT "dashboard: esbuild web/src -> ${VG_WEB_OUT}/dist"
    VERBATIM)
  set(VG_WEB_ASSETS "/=${VG_WEB_OUT}/dist/index.html|/assets/app.js=${VG_WEB_OUT}/dist/app.js|/assets/app.css=${VG_WEB_OUT}/dist/app.css")
  set(VG_WEB_BUILT ON)
else()
  set(VG_WEB_DIST ${VG_WEB_SRC}/stub.html)
  set(VG_WEB_ASSETS "/=${VG_WEB_SRC}/stub.html")
  set(VG_WEB_BUILT OFF)
endif()

add_custom_command(OUTPUT ${VG_WEB_ASSETS_C}
  COMMAND ${CMAKE_COMMAND} -DOUT=${VG_WEB_ASSETS_C} -DBUILT=${VG_WEB_BUILT}
          "-DASSETS=${VG_WEB_ASSETS}" -P ${VG_WEB_SRC}/embed.cmake
  DEPENDS ${VG_WEB_DIST} ${VG_WEB_SRC}/embed.cmake
  COMMENT "dashboard: embedding the assets"
  VERBATIM)
target_sources(vigie_server PRIVATE ${VG_WEB_ASSETS_C})
