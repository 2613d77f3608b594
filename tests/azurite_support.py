"""An Azurite of its own for tests of remote sources and the server-side copy (importable by name:
pytest puts tests/ on sys.path): containers, blobs and SAS URLs on it."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from dataclasses import dataclass
from typing import Any

from azmodels_magic.sandbox.azurite import DEV_ACCOUNT, Azurite


@dataclass
class Storage:
    """Azurite with a service client on its account key."""

    azurite: Azurite
    service: Any

    @classmethod
    def start(cls, location: Any) -> Storage:
        from azure.storage.blob import BlobServiceClient

        azurite = Azurite.start(location)
        return cls(azurite, BlobServiceClient.from_connection_string(azurite.connection_string))

    def stop(self) -> None:
        self.service.close()
        self.azurite.stop()

    def container(self) -> str:
        name = f"c{uuid.uuid4().hex[:12]}"
        self.service.create_container(name)
        return name

    def put(self, container: str, name: str, data: bytes, **options: Any) -> Any:
        blob = self.service.get_blob_client(container, name)
        blob.upload_blob(data, overwrite=True, **options)
        return blob

    def sas(
        self,
        container: str,
        *,
        write: bool = False,
        hours: float = 1,
        read: bool = True,
    ) -> str:
        from azure.storage.blob import ContainerSasPermissions, generate_container_sas

        permission = ContainerSasPermissions(
            read=read, list=read, add=write, create=write, write=write
        )
        now = dt.datetime.now(dt.UTC)
        return generate_container_sas(
            DEV_ACCOUNT,
            container,
            account_key=self.azurite.account_key,
            permission=permission,
            start=now - dt.timedelta(hours=2),
            expiry=now + dt.timedelta(hours=hours),
        )

    def url(self, container: str, name: str = "", sas: str | None = None) -> str:
        base = f"{self.azurite.blob_endpoint}/{container}" + (f"/{name}" if name else "")
        return f"{base}?{sas}" if sas else base

    def read(self, container: str, name: str) -> bytes:
        return self.service.get_blob_client(container, name).download_blob().readall()


def random_bytes(size: int) -> bytes:
    return os.urandom(size)
