"""SMS through the gateways offices use, with the providers' official SDKs.

One `SmsChannel` (the `sms` channel) in front of a provider adapter chosen by
`DUBAN_SMS_PROVIDER`: Alibaba Cloud's `dysmsapi` SendSms (sign name, template code, named JSON
parameters, OutId) or Tencent Cloud's SMS SendSms (SdkAppId, template id, positional parameters,
SessionContext). The template is data (`DUBAN_SMS_TEMPLATES`: a notice kind's template, or the
default's); every template gets the same four parameters, named for Alibaba and in this order for
Tencent: the unit, how many notices, the kind of the gravest, and its due date. The delivery's id
goes as OutId / SessionContext, so the provider's records name the message it was.

On our side: at most `DUBAN_SMS_PER_SECOND` requests a second from one notifier (the account's
rate), and at most `DUBAN_SMS_DAILY_CAP` messages a day to one person (services/notifier/delivery.py
counts them). A provider's throttling answer is tried again later; a bad number, a template or
signature the provider refuses, for good.
"""

import asyncio
import json
import time
from typing import Protocol

from services.notifier.channels import Message, Refused, TryLater
from shared.settings import NotifierSettings

PARAMS = ("unit", "count", "kind", "due")


class Provider(Protocol):
    name: str

    async def send(self, phone: str, template: str, params: dict[str, str], ref: str) -> str: ...


def _endpoint(endpoint: str) -> tuple[str, str]:
    """(host[:port], scheme) of an endpoint given as `host`, `http://host:port` or `https://…`."""
    scheme, _, rest = endpoint.rpartition("://")
    return rest, (scheme or "https")


class Aliyun:
    """Alibaba Cloud SMS (dysmsapi 2017-05-25) SendSms."""

    name = "aliyun"
    THROTTLED = frozenset(
        {"isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL", "Throttling.User", "Throttling"}
    )

    def __init__(self, settings: NotifierSettings) -> None:
        from alibabacloud_dysmsapi20170525.client import Client
        from alibabacloud_tea_openapi import models as openapi

        host, scheme = _endpoint(settings.sms_endpoint or "dysmsapi.aliyuncs.com")
        self.client = Client(
            openapi.Config(
                access_key_id=settings.sms_access_key_id,
                access_key_secret=settings.sms_access_key_secret.get_secret_value(),
                endpoint=host,
                protocol=scheme.upper(),
                connect_timeout=5000,
                read_timeout=10000,
            )
        )
        self.sign_name = settings.sms_sign_name

    async def send(self, phone: str, template: str, params: dict[str, str], ref: str) -> str:
        from alibabacloud_dysmsapi20170525 import models

        request = models.SendSmsRequest(
            phone_numbers=phone,
            sign_name=self.sign_name,
            template_code=template,
            template_param=json.dumps(params, ensure_ascii=False),
            out_id=ref,
        )
        try:
            answer = (await self.client.send_sms_async(request)).body
        except Exception as e:  # the SDK's own errors: transport, or an HTTP error status
            code = str(getattr(e, "code", "") or "")
            said = f"{code} {getattr(e, 'message', '') or e}".strip()
            if code.startswith("isv.") and code not in self.THROTTLED:
                raise Refused(said) from e
            raise TryLater(said) from e
        said = f"{answer.code} {answer.message} (RequestId {answer.request_id})"
        if answer.code == "OK":
            return f"{answer.biz_id} (RequestId {answer.request_id})"
        if answer.code in self.THROTTLED or not str(answer.code).startswith("isv."):
            raise TryLater(said)
        raise Refused(said)  # a bad number, a template or signature refused: retrying will not help


class Tencent:
    """Tencent Cloud SMS (2021-01-11) SendSms."""

    name = "tencent"

    def __init__(self, settings: NotifierSettings) -> None:
        from tencentcloud.common import credential
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile
        from tencentcloud.sms.v20210111 import sms_client

        host, scheme = _endpoint(settings.sms_endpoint or "sms.tencentcloudapi.com")
        http = HttpProfile(endpoint=host, reqTimeout=10)
        http.scheme = scheme
        self.client = sms_client.SmsClient(
            credential.Credential(
                settings.sms_access_key_id, settings.sms_access_key_secret.get_secret_value()
            ),
            settings.sms_region,
            ClientProfile(httpProfile=http),
        )
        self.app_id, self.sign_name = settings.sms_app_id, settings.sms_sign_name

    async def send(self, phone: str, template: str, params: dict[str, str], ref: str) -> str:
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
        from tencentcloud.sms.v20210111 import models

        request = models.SendSmsRequest()
        request.PhoneNumberSet = [f"+86{phone}"]
        request.SmsSdkAppId = self.app_id
        request.SignName = self.sign_name
        request.TemplateId = template
        request.TemplateParamSet = [params[p] for p in PARAMS]
        request.SessionContext = ref
        try:  # the SDK is synchronous (requests): off the event loop
            answer = await asyncio.to_thread(self.client.SendSms, request)
        except TencentCloudSDKException as e:
            said = f"{e.code} {e.message} (RequestId {e.requestId})"
            if str(e.code).startswith(
                ("InternalError", "LimitExceeded", "RequestLimitExceeded", "ClientNetworkError")
            ):
                raise TryLater(said) from e
            raise Refused(said) from e
        [status] = answer.SendStatusSet
        said = f"{status.Code} {status.Message} (RequestId {answer.RequestId})"
        if status.Code == "Ok":
            return f"{status.SerialNo} (RequestId {answer.RequestId})"
        if str(status.Code).startswith(("LimitExceeded", "InternalError")):
            raise TryLater(said)
        raise Refused(said)


PROVIDERS: dict[str, type[Aliyun] | type[Tencent]] = {"aliyun": Aliyun, "tencent": Tencent}


class SmsChannel:
    """The `sms` channel: one short message per digest and person, through the provider."""

    name = "sms"
    address = "phone"

    def __init__(self, settings: NotifierSettings) -> None:
        self.provider: Provider = PROVIDERS[settings.sms_provider](settings)
        self.templates: dict[str, str] = settings.sms_templates
        self.daily_cap = settings.sms_daily_cap
        self.interval = 1 / settings.sms_per_second
        self._next = 0.0
        self._turn = asyncio.Lock()

    def params(self, message: Message) -> tuple[str, dict[str, str]]:
        """The template for the message's gravest notice, and the four parameters."""
        items = sorted(message.items, key=lambda i: (-int(i.get("level", 0)), i.get("due_date", "")))
        top = items[0] if items else {}
        template = self.templates.get(str(top.get("kind")), self.templates["default"])
        return template, {
            "unit": message.unit_name[:20],
            "count": str(len(items)),
            "kind": str(top.get("kind_zh", "待决定事项")),
            "due": str(top.get("due_date", "")),
        }

    async def send(self, message: Message) -> str | None:
        if not message.to_phone:
            raise Refused("no mobile number")
        template, params = self.params(message)
        async with self._turn:  # the account's rate, from this notifier
            wait = self._next - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._next = max(time.monotonic(), self._next) + self.interval
        return await self.provider.send(message.to_phone, template, params, str(message.delivery_id))


__all__ = ["PARAMS", "PROVIDERS", "Aliyun", "SmsChannel", "Tencent"]
