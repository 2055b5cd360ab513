#!/usr/bin/env bash
# Installs the Bicep CLI from NuGet (package Azure.Bicep.CommandLine.linux-x64, the version pinned in
# tools/bicep/bicep.csproj) and links it as .bicep/bicep in the repository. Nothing is downloaded from anywhere
# but the NuGet feed that `dotnet restore` uses.
#
#   bash scripts/install-bicep.sh            # prints the path of the bicep executable on stdout (last line)
#   BICEP=$(bash scripts/install-bicep.sh)   # use it from a script
#
# Idempotent and fast when already installed (no restore is run then). The tests find the CLI at .bicep/bicep
# (or at $BICEP_PATH when that is set).
set -euo pipefail

_bicep_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_bicep_project="$_bicep_repo/tools/bicep/bicep.csproj"
_bicep_package="azure.bicep.commandline.linux-x64"
_bicep_link="$_bicep_repo/.bicep/bicep"

_bicep_log() { echo "install-bicep: $*" >&2; }

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) _bicep_log "this script installs the linux-x64 Bicep CLI; this machine is $(uname -s)-$(uname -m)"; exit 1 ;;
esac

_bicep_version="$(sed -n 's/.*Include="Azure.Bicep.CommandLine.linux-x64" Version="\([^"]*\)".*/\1/p' "$_bicep_project")"
if [[ -z "$_bicep_version" ]]; then
  _bicep_log "cannot read the Azure.Bicep.CommandLine.linux-x64 version from $_bicep_project"
  exit 1
fi

# Fast path: the link already points at the pinned version and runs.
if [[ -x "$_bicep_link" ]] && "$_bicep_link" --version 2>/dev/null | grep -q "Bicep CLI version $_bicep_version "; then
  BICEP_PATH="$_bicep_link"
else
  _bicep_log "restoring $_bicep_package $_bicep_version from NuGet"
  dotnet restore "$_bicep_project" --nologo --verbosity quiet >&2

  _bicep_packages="${NUGET_PACKAGES:-}"
  if [[ -z "$_bicep_packages" ]]; then
    _bicep_packages="$(dotnet nuget locals global-packages --list | sed -n 's/^global-packages: *//p')"
  fi
  _bicep_exe="${_bicep_packages%/}/$_bicep_package/$_bicep_version/tools/bicep"
  if [[ ! -f "$_bicep_exe" ]]; then
    _bicep_log "restore finished but $_bicep_exe is missing"
    exit 1
  fi
  chmod +x "$_bicep_exe"
  mkdir -p "$(dirname "$_bicep_link")"
  ln -sfn "$_bicep_exe" "$_bicep_link"
  if ! "$_bicep_link" --version | grep -q "Bicep CLI version $_bicep_version "; then
    _bicep_log "$_bicep_link does not report version $_bicep_version"
    exit 1
  fi
  BICEP_PATH="$_bicep_link"
  _bicep_log "installed $("$BICEP_PATH" --version)"
fi

echo "$BICEP_PATH"
