from typing import Any

from django.db import models


class CiphertextField(models.TextField):  # type: ignore[type-arg]
    """Holds a token made by ``trust_center.crypto``, never a plaintext secret.

    Values are encrypted and decrypted explicitly by services and selectors, so a model
    instance, its ``repr()``, a fixture dump or an admin form only ever sees ciphertext.
    ``rotate_encryption_key`` finds every column to re-encrypt by this field class.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        # The defaults above are part of the field; keep migrations free of them.
        for option in ("editable", "blank"):
            default = option == "blank"
            value = getattr(self, option)
            if value == default:
                kwargs.pop(option, None)
            else:
                kwargs[option] = value
        return name, path, args, kwargs
