"""ModelService: the base catalog and the custom registry as one collection of models."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import rules
from ..cache import TtlCache
from ..clients.storage import delete_blobs, stored_files
from ..errors import AzModelsError, NotFoundError, UsageError, ValidationError
from ..records import BASE, CUSTOM, META_PREFIX, AnyModel, BaseModel, CustomModel, Deployment
from ..redaction import redact
from ..results.models import DeleteReport, ModelDetails, ModelList, deploy_step
from ..rules import matches
from ..steps import NextStep
from ..uploadstate import UploadJournal, UploadLock, same_location
from ..uploadstate.keys import key_for
from ..uploadstate.lock import busy_error
from ..wording import did_you_mean, plural

if TYPE_CHECKING:
    from ..connection import Connection
    from ..records import StoredFile


@rules.checked_arguments  # the Python API calls these: typed arguments, one clear line
class ModelService:
    """List, find, show, change and delete models of both kinds: the base catalog of the
    connected account's region and your custom models in the Foundry project (`az.models`).

    Lists are cached for the `cache_seconds` setting (`refresh=True` reads them again). Every
    method checks its arguments' types first (a ValidationError, before anything is sent); a
    call that reaches Azure may raise AuthenticationError, PermissionDeniedError or
    ServiceError.
    """

    def __init__(
        self,
        connection: Connection,
        *,
        cache: TtlCache,
        recover: Callable[[str], bool] | None = None,
    ) -> None:
        self.connection = connection
        self.cache = cache
        # Before saying a custom model is not there: finish a replacement of it that a killed
        # process left half done (its old registration deleted, the new one not yet made), so
        # that even a direct Python call sees a registered version. True when one was dealt with.
        self.recover = recover

    # -- raw collections ------------------------------------------------------------------------

    def catalog(self, *, refresh: bool = False) -> list[BaseModel]:
        """The base models the connected account's region offers.

        Args:
            refresh: read it again rather than from the cache.

        Returns:
            One BaseModel per model version, with its SKUs and capacity ranges.

        Example:
            >>> [m.name for m in az.models.catalog()][:3]
        """
        return self.cache.get("catalog", lambda: self.connection.arm.catalog(), refresh=refresh)

    def custom_models(self, *, refresh: bool = False) -> list[CustomModel]:
        """The custom models registered in the project (the service lists one version each).

        Args:
            refresh: read them again rather than from the cache.

        Returns:
            One CustomModel per model.

        Example:
            >>> [(m.name, m.version) for m in az.models.custom_models()]
        """
        return self.cache.get(
            "custom", lambda: list(self.connection.foundry.iter_models()), refresh=refresh
        )

    def invalidate(self) -> None:
        """Forget the cached lists of custom models and deployments (after a change made
        elsewhere, e.g. in the portal); the catalog stays cached.

        Example:
            >>> az.models.invalidate()
        """
        self.cache.invalidate("custom", "deployments")

    # -- list -----------------------------------------------------------------------------------

    def list(self, *, type: str = "all", query: str | None = None) -> ModelList:
        """Models of one kind or both, optionally only those matching a pattern.

        Args:
            type: "base", "custom" or "all" (custom models first).
            query: a case-insensitive pattern matched against the name, format and publisher
                (or base model): a glob when it has wildcards ("llama*"), else a substring.

        Returns:
            A ModelList (`.models`, the records; a table in a notebook).

        Raises:
            ValidationError: a type that is not one of those, or a query that is not text.

        Example:
            >>> az.models.list(type="base", query="gpt-4*").models
        """
        rules.check_choice(type, (*rules.TYPES, "all"), "type")
        if query is not None and not isinstance(query, str):
            raise ValidationError(f"The query is a text pattern, got {query!r}.")
        models: list[AnyModel] = []
        # Without a query every record is kept: no per-record call (5,000 catalog models).
        if type in ("all", CUSTOM):
            custom = self.custom_models()
            models.extend(
                custom
                if not query
                else (m for m in custom if matches(query, m.name, m.format, m.base_model))
            )
        if type in ("all", BASE):
            catalog = self.catalog()
            models.extend(
                catalog
                if not query
                else (m for m in catalog if matches(query, m.name, m.publisher, m.format))
            )
        return ModelList(models=models, type=type)

    # -- find and show --------------------------------------------------------------------------

    def base_versions(self, name: str) -> list[BaseModel]:
        """Every version the catalog lists of a base model.

        Args:
            name: the base model's name (any case).

        Returns:
            Its versions as catalog entries; [] when the catalog has no such model.

        Example:
            >>> [m.version for m in az.models.base_versions("gpt-4o")]
        """
        return [m for m in self.catalog() if m.name.lower() == name.lower()]

    def custom_versions(self, name: str) -> list[CustomModel]:
        """Every registered version of a custom model, oldest first.

        Args:
            name: the custom model's name.

        Returns:
            Its versions; [] when no custom model has that name.

        Example:
            >>> [m.version for m in az.models.custom_versions("my-llama")]
            ['1', '2']
        """
        try:
            return sorted(
                self.connection.foundry.iter_versions(name), key=lambda m: _version_key(m.version)
            )
        except NotFoundError:
            return []

    def find(self, name: str, *, type: str | None = None, version: str | None = None) -> AnyModel:
        """The model a name means: your custom models are looked in first, then the catalog.

        Args:
            name: the model's name.
            type: "base" or "custom": look only there (needed when a name is both).
            version: a version (default: a custom model's newest, a base model's default).

        Returns:
            The CustomModel or BaseModel.

        Raises:
            ValidationError: an empty name, or a type or version that is not valid.
            NotFoundError: no such model (close names are suggested) or no such version.
            UsageError: the name is both a custom and a base model, and no type was given.

        Example:
            >>> az.models.find("gpt-4o", type="base").skus
        """
        try:
            return self._find(name, type=type, version=version)
        except NotFoundError:
            if type == BASE or self.recover is None or not self.recover(name):
                raise
            self.invalidate()
            return self._find(name, type=type, version=version)

    def _find(self, name: str, *, type: str | None, version: str | None) -> AnyModel:
        if not isinstance(name, str) or not name:
            raise ValidationError(f"A model name is text, got {name!r}.")
        rules.check_choice(type, (None, *rules.TYPES), "type")
        if version is not None:
            rules.check(rules.version, version)
        if type is None and not self.connection.config.project_endpoint:
            type = BASE  # an account without a Foundry project has only the catalog's models
        base = self.base_versions(name) if type in (None, BASE) else []
        listed = self._listed_custom(name, version) if type != BASE else None
        if listed is not None:
            custom = [listed]  # the fresh list answers: no request for its versions
        elif type == CUSTOM or (type is None and not (base and self._not_custom(name))):
            custom = self.custom_versions(name)
        else:
            custom = []
        if custom and base and type is None:
            versions = ", ".join(m.version for m in custom)
            raise UsageError(
                f"'{name}' is both a custom model (versions {versions}) and a base model "
                f"({base[0].publisher}): add --type custom or --type base."
            )
        if custom:
            return _pick_version(custom, version, name, CUSTOM)
        if base:
            return _pick_version(base, version, name, BASE)
        where = {CUSTOM: "in your custom models", BASE: "in the base catalog"}.get(
            type or "", "in your custom models or the base catalog"
        )
        names = [m.name for m in self.catalog()] if type != CUSTOM else []
        names += self._custom_names() if type != BASE else []
        hint = _suggest_name(name, names)
        raise NotFoundError(
            f"No model named '{name}' {where}.{hint}", code="ModelNotFound", steps=LIST_STEPS
        )

    def show(
        self, name: str, *, type: str | None = None, version: str | None = None
    ) -> ModelDetails:
        """One model in full: the model, its versions, its deployments, and for a custom
        model its stored files with their SHA-256 and what its weights declare.

        Args:
            name: the model's name (custom models first, then the catalog).
            type: "base" or "custom", when a name is both.
            version: a version (default: a custom model's newest, a base model's default).

        Returns:
            ModelDetails (a card in a notebook, `to_dict()` for JSON); what cannot be read
            (deployments without an ARM role, storage) is left out and said.

        Raises:
            NotFoundError: no such model or version.
            UsageError: the name is both a custom and a base model, and no type was given.

        Example:
            >>> az.models.show("my-llama", version="2").files
        """
        model = self.find(name, type=type, version=version)
        if isinstance(model, CustomModel):
            versions = [m.version for m in self.custom_versions(model.name)]
        else:
            versions = [m.version for m in self.base_versions(model.name)]
        deployments = self._deployments_of(model) or []
        files, files_warning = (
            self._stored_files(model) if isinstance(model, CustomModel) else ([], "")
        )
        offered: AnyModel | None = model
        what = "Deploy"
        if isinstance(model, BaseModel) and model.retired:
            # Past its retirement date: point at the newest version that is not, if any.
            live = [m for m in self.base_versions(model.name) if not m.retired]
            offered = max(live, key=lambda m: _version_key(m.version)) if live else None
            what = f"Deploy version {offered.version} instead" if offered else ""
        return ModelDetails(
            model=model,
            versions=versions,
            deployments=deployments,
            weights=_weights_meta(model),
            files=files,
            files_warning=files_warning,
            deploy_step=deploy_step(offered, type=model.type if type else None, what=what)
            if offered is not None
            else None,
            deployments_step=NextStep.of(
                "deployments list", model=model.name, what="Its deployments"
            ),
        )

    def _stored_files(self, model: CustomModel) -> tuple[list[StoredFile], str]:
        """The model's files with their SHA-256 (each blob's metadata, or the manifest of an
        older upload), or none and why, when its storage cannot be read (show still shows
        the rest, and says so)."""
        try:
            access = self.connection.foundry.read_credential(
                model.name, model.version, model.blob_uri
            )
            return stored_files(access.sas_url, self.connection.transport), ""
        except AzModelsError as exc:
            return [], f"The stored files could not be listed: {exc.message}"

    # -- change custom models -------------------------------------------------------------------

    def resolve_custom(self, name: str, version: str | None) -> CustomModel:
        """The custom model version a delete or update means.

        Args:
            name: the custom model's name.
            version: its version; may be left out when it has only one.

        Returns:
            That version's CustomModel.

        Raises:
            NotFoundError: no custom model of that name, or no such version.
            UsageError: the name is a base model's, or the model has several versions and
                none was given.

        Example:
            >>> az.models.resolve_custom("my-llama", "2")
        """
        versions = self.custom_versions(name)
        if not versions and self.recover is not None and self.recover(name):
            self.invalidate()
            versions = self.custom_versions(name)
        if not versions:
            if self.base_versions(name):
                raise UsageError(
                    f"'{name}' is a base model from the catalog: only your custom models can "
                    "be deleted or changed."
                )
            raise NotFoundError(
                f"No custom model named '{name}'.{_suggest_name(name, self._custom_names())}",
                code="ModelNotFound",
                steps=LIST_STEPS,
            )
        if version is None and len(versions) > 1:
            raise UsageError(
                f"Custom model '{name}' has versions {', '.join(m.version for m in versions)}: "
                "add --version."
            )
        return _pick_version(versions, version, name, CUSTOM)

    def _listed_custom(self, name: str, version: str | None) -> CustomModel | None:
        """Version `version` of custom model `name` as the fresh list of custom models (if
        cached) has it. The list holds one version per model, so only a version asked for by
        number can be answered from it."""
        listed = self.cache.fresh("custom")
        if listed is None or version is None:
            return None
        return next(
            (m for m in listed if m.name.lower() == name.lower() and m.version == version), None
        )

    def _not_custom(self, name: str) -> bool:
        """True when the list of custom models (cached for `cache_seconds`, like the catalog)
        has no model `name`: a base model of that name is then what is meant. One list serves
        every deploy of the session, where a lookup of the name would cost one each."""
        return not any(m.name.lower() == name.lower() for m in self.custom_models())

    def _custom_names(self) -> list[str]:
        return [m.name for m in self.custom_models()]

    def delete_version(
        self, name: str, version: str | None = None, *, keep_weights: bool = False
    ) -> DeleteReport:
        """Delete a custom model version: its stored weights first (unless `keep_weights`),
        then its registration.

        Args:
            name: the custom model's name.
            version: its version; may be left out when it has only one.
            keep_weights: remove only the registration; the weights stay in storage.

        Returns:
            A DeleteReport: the model, how many files were removed, and the deployments that
            still use that version (deleting a model does not delete them).

        Raises:
            NotFoundError: no such custom model or version.
            UsageError: a base model's name, or several versions and none given.
            ConflictError: an upload of that version is running on this machine.
            AzModelsError: storage or the registry refused; the message says what was done
                and that running the same delete again finishes it.

        Example:
            >>> az.models.delete_version("my-llama", "1").blobs_removed
            3
        """
        model = self.resolve_custom(name, version)
        self._refuse_if_uploading(model)
        foundry = self.connection.foundry
        removed = 0
        weights_left = ""
        if not keep_weights:
            # The weights go first, while the registration can still hand out a credential for
            # them: storage refusing leaves the model registered, to delete again later, never
            # unregistered weights nothing can reach. The one refusal that no retry will change
            # is the credential's own: Azure's `credentials` hands out a SAS that reads and
            # lists (EVIDENCE.md §2), so the weights stay, and that is said, not a failure.
            access = foundry.read_credential(model.name, model.version, model.blob_uri)
            try:
                removed = delete_blobs(access.sas_url, self.connection.transport)
            except AzModelsError as exc:
                if exc.status != 403:
                    raise _reworded(
                        exc,
                        f"{exc.message}. Model '{model.name}' version {model.version} is still "
                        "registered: delete it again once storage allows it, or pass "
                        "--keep-weights to remove only the registration (its weights then stay "
                        "in storage).",
                    ) from None
                weights_left = "the service's credential may read them, not remove them"
        try:
            foundry.delete_version(model.name, model.version)
        except AzModelsError as exc:
            if not removed:
                raise
            raise _reworded(
                exc,
                f"Removed the {plural(removed, 'file')} of '{model.name}' version "
                f"{model.version}, but not its registration: {exc.message}. Run the same delete "
                "again to finish.",
            ) from None
        self.invalidate()
        self._forget_upload(model)
        # Only wording from here: the deletion is done and must not be reported as failed.
        using = self._deployments_of(model, same_version=True)
        still = None if using is None else [d.name for d in using]
        return DeleteReport(model=model, blobs_removed=removed, kept_weights=keep_weights,
                            deployments=still, weights_left=weights_left)  # fmt: skip

    def _deployments_of(self, model: AnyModel, *, same_version: bool = False):
        """Deployments using `model` (of its version, if asked), or None when ARM can't tell
        (not configured, no role): a custom model is still worth showing or deleting."""
        try:
            deployments = self.deployments(refresh=True)
        except AzModelsError:
            return None
        return [
            d
            for d in deployments
            if _uses(d, model) and (not same_version or d.model_version == model.version)
        ]

    def _refuse_if_uploading(self, model: CustomModel) -> None:
        """Another process on this machine is uploading (replacing) this version: not now."""
        key = key_for(self.connection, model.name, model.version)
        if UploadLock.holder(key) is not None:
            raise busy_error(key, model.name, model.version)

    def _forget_upload(self, model: CustomModel) -> None:
        """This machine's journal of the deleted version would otherwise offer to resume it."""
        key = key_for(self.connection, model.name, model.version)
        journal = UploadJournal.load(key)
        if journal is not None and same_location(journal.container_url, model.blob_uri):
            journal.delete()

    def update(
        self,
        name: str,
        version: str,
        *,
        description: str | None = None,
        set_tags: dict[str, str] | None = None,
        remove_tags: list[str] | None = None,
    ) -> CustomModel:
        """Change a custom model version's description or tags (its weights cannot change:
        upload a new version for that).

        Args:
            name: the custom model's name.
            version: its version.
            description: the new description.
            set_tags: tags to add or change, key -> value.
            remove_tags: keys of tags to remove.

        Returns:
            The model as registered after the change.

        Raises:
            ValidationError: a tag or description that is not valid, or a tag to remove that
                the model does not have.
            UsageError: nothing to change was given.
            NotFoundError: no such custom model or version.

        Example:
            >>> az.models.update("my-llama", "2", set_tags={"stage": "prod"}).tags
        """
        rules.check_tags(set_tags)
        rules.check_tag_keys(remove_tags)
        if description is not None and not isinstance(description, str):
            raise ValidationError("The description must be text.")
        if description is None and not set_tags and not remove_tags:
            raise UsageError("Nothing to update: give --description, --set-tag or --remove-tag.")
        model = self.resolve_custom(name, version)
        missing = [k for k in remove_tags or [] if k not in model.tags]
        if missing:
            raise ValidationError(
                f"Model '{name}' version {model.version} has no tag {', '.join(missing)}: "
                f"its tags are {', '.join(model.user_tags) or 'none'}."
            )
        tags: dict[str, str | None] = {**(set_tags or {}), **{k: None for k in remove_tags or []}}
        updated = self.connection.foundry.update_version(
            model.name, model.version, description=description, tags=tags
        )
        self.invalidate()
        return updated

    def successor(self, model: BaseModel) -> BaseModel | None:
        """A live model to deploy instead of a retired one (None when the catalog has none):
        the newest version of the same name not past its retirement date, else the generally
        available model of its family (same format, same first word: gpt-4o -> gpt-4.1) whose
        name is closest to it, a variant of it (gpt-4o-mini) not counted.

        Args:
            model: the base model (usually a retired one) to find a successor for.

        Returns:
            A live BaseModel from the catalog, or None when the catalog has none to offer.

        Example:
            >>> az.models.successor(az.models.find("gpt-4o", type="base")).name
            'gpt-4.1'
        """
        live = [m for m in self.catalog() if not m.retired]
        same = [m for m in live if m.name.lower() == model.name.lower()]
        if same:
            return max(same, key=lambda m: _version_key(m.version))
        family = _family(model.name)
        name = model.name.lower()
        newest: dict[str, BaseModel] = {}
        for m in live:
            other = m.name.lower()
            if (
                family
                and _family(other) == family
                and m.format.lower() == model.format.lower()
                and m.lifecycle_status.lower() == "generallyavailable"
                and not other.startswith(name + "-")
            ):
                known = newest.get(other)
                if known is None or _version_key(m.version) > _version_key(known.version):
                    newest[other] = m
        if not newest:
            return None
        # Longest shared start with the retired name, then the shortest name, then the newest.
        return min(
            newest.values(),
            key=lambda m: (-_shared_start(m.name.lower(), name), len(m.name), m.name.lower()),
        )

    def deployments(self, *, refresh: bool = False) -> list[Deployment]:
        """Every deployment of the connected account, of any model (the list the services
        share; `az.deployments.list` filters it).

        Args:
            refresh: read it again rather than from the cache.

        Returns:
            The deployments.

        Example:
            >>> [d.name for d in az.models.deployments()]
        """
        return self.cache.get(
            "deployments", lambda: list(self.connection.arm.iter_deployments()), refresh=refresh
        )


def _family(name: str) -> str:
    """A model name's first word: 'gpt' for gpt-4o, 'phi' for Phi-4 ('' when it has none)."""
    return re.split(r"[-_.\d]", name.lower(), maxsplit=1)[0]


def _shared_start(a: str, b: str) -> int:
    """How many characters `a` and `b` start with alike."""
    return next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )


def _version_key(version: str) -> tuple:
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in version.split("."))


def _pick_version(models: list, version: str | None, name: str, kind: str):
    if version:
        for m in models:
            if m.version == version:
                return m
        known = ", ".join(m.version for m in models)
        raise NotFoundError(
            f"{kind.capitalize()} model '{name}' has no version {version}: versions are {known}.",
            code="ModelVersionNotFound",
        )
    if kind == BASE:
        return next((m for m in models if m.is_default_version), models[-1])
    return max(models, key=lambda m: _version_key(m.version))


def _uses(deployment: Deployment, model: AnyModel) -> bool:
    if deployment.model_name.lower() != model.name.lower():
        return False
    return deployment.type == model.type


def _weights_meta(model: AnyModel) -> dict[str, Any]:
    if not isinstance(model, CustomModel):
        return {}
    return {k[len(META_PREFIX) :]: v for k, v in model.tags.items() if k.startswith(META_PREFIX)}


# What `_suggest_name`'s {0} names.
LIST_STEPS = (NextStep.of("list"),)


def _suggest_name(name: str, names: list[str]) -> str:
    """Close names, or how to list them ({0}: LIST_STEPS)."""
    return did_you_mean(name, names, "Run {0} to see them.")


def _reworded(error: AzModelsError, message: str) -> AzModelsError:
    """`error`, of its own type and code, saying `message` (what was and wasn't done)."""
    error.message = redact(message)
    error.args = (error.message,)
    return error
