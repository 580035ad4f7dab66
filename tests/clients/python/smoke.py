"""The purchase through a client made of kassa's OpenAPI document: kassa_client, generated from
/openapi.json by openapi-python-client. Run by scripts/generated-clients-check (the generated
package on PYTHONPATH) against the kassa at KASSA_URL with the sandbox merchant's KASSA_AUTH
(`username:secret`). Only the client's typed API is used; any step that does not answer as
expected fails with its name, and the process exits nonzero."""

import base64
import os
import sys
from http import HTTPStatus

from kassa_client import AuthenticatedClient
from kassa_client.api.hpp import hpp_create_session, hpp_read_session
from kassa_client.api.order_management import order_management_read_order
from kassa_client.api.payments import payments_create_session, payments_place_order
from kassa_client.api.sandbox import sandbox_consumer_action
from kassa_client.models import (
    CreateOrderRequest,
    ErrorResponse,
    HppCreated,
    HppCreateRequest,
    HppSessionV1,
    HppStatus,
    MerchantSession,
    MerchantUrlsV1,
    OptionsV1,
    OrderCreated,
    OrderLine,
    OrderRead,
    OrderStatus,
    PaymentSessionRequest,
    SandboxHppAction,
    SandboxOutcome,
)

BASE = os.environ["KASSA_URL"]
TOKEN = base64.b64encode(os.environ["KASSA_AUTH"].encode()).decode()


def expect(step, status, response, kind):
    """The parsed body of an answer with the expected status and type, or the step fails."""
    if response.status_code != status or not isinstance(response.parsed, kind):
        error = response.parsed.to_dict() if isinstance(response.parsed, ErrorResponse) else response.content
        sys.exit(f"python client: {step}: {response.status_code}, expected {status}: {error!r}")
    return response.parsed


def check(step, condition, seen):
    if not condition:
        sys.exit(f"python client: {step}: unexpected {seen!r}")


CART = dict(
    purchase_country="SE",
    purchase_currency="SEK",
    locale="en-SE",
    order_amount=18000,
    order_tax_amount=3000,
    order_lines=[
        OrderLine(
            type_="physical",
            name="Cool Bike",
            quantity=1,
            unit_price=20000,
            tax_rate=2000,
            total_amount=18000,
            total_discount_amount=2000,
            total_tax_amount=3000,
        )
    ],
)

with AuthenticatedClient(base_url=BASE, token=TOKEN, prefix="Basic", raise_on_unexpected_status=True) as client:
    # 1. A Payments session holds the cart.
    answer = payments_create_session.sync_detailed(client=client, body=PaymentSessionRequest(**CART))
    payment = expect("create payment session", HTTPStatus.OK, answer, MerchantSession)
    check("payment session id", payment.session_id, payment)

    # 2. An HPP session hosts it.
    request = HppCreateRequest(
        payment_session_url=f"{BASE}/payments/v1/sessions/{payment.session_id}",
        merchant_urls=MerchantUrlsV1(success="https://shop.example/ok?sid={{session_id}}&token={{authorization_token}}"),
        options=OptionsV1(place_order_mode="NONE"),
    )
    answer = hpp_create_session.sync_detailed(client=client, body=request)
    hpp = expect("create HPP session", HTTPStatus.CREATED, answer, HppCreated)

    # 3. Not yet visited: WAITING.
    answer = hpp_read_session.sync_detailed(hpp.session_id, client=client)
    waiting = expect("read HPP session", HTTPStatus.OK, answer, HppSessionV1)
    check("HPP status before the consumer", waiting.status is HppStatus.WAITING, waiting)

    # 4. The consumer opens the page and approves (the sandbox controls).
    answer = sandbox_consumer_action.sync_detailed(hpp.session_id, SandboxHppAction.OPEN, client=client)
    opened = expect("sandbox open", HTTPStatus.OK, answer, SandboxOutcome)
    check("HPP status once opened", opened.session.status is HppStatus.IN_PROGRESS, opened)
    answer = sandbox_consumer_action.sync_detailed(hpp.session_id, SandboxHppAction.APPROVE, client=client)
    approved = expect("sandbox approve", HTTPStatus.OK, answer, SandboxOutcome)
    token = approved.session.authorization_token
    check("authorization token", isinstance(token, str) and token, approved)

    # 5. COMPLETED, with the token.
    answer = hpp_read_session.sync_detailed(hpp.session_id, client=client)
    completed = expect("read HPP session", HTTPStatus.OK, answer, HppSessionV1)
    check("HPP status once approved", completed.status is HppStatus.COMPLETED, completed)
    check("HPP authorization token", completed.authorization_token == token, completed)

    # 6. The order, placed with the token and the same cart.
    answer = payments_place_order.sync_detailed(token, client=client, body=CreateOrderRequest(**CART))
    order = expect("place order", HTTPStatus.OK, answer, OrderCreated)
    check("order fraud status", order.fraud_status == "ACCEPTED", order)

    # 7. Order Management reads it: authorized, for the cart's amount.
    answer = order_management_read_order.sync_detailed(order.order_id, client=client)
    read = expect("read order", HTTPStatus.OK, answer, OrderRead)
    check("order status", read.status is OrderStatus.AUTHORIZED, read)
    check("order amount", (read.order_amount, read.remaining_authorized_amount) == (18000, 18000), read)
    check("order currency", read.purchase_currency == "SEK", read)

print(f"python client: order {order.order_id} AUTHORIZED for 18000 SEK")
