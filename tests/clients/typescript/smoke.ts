// The purchase through a client made of kassa's OpenAPI document: the types openapi-typescript
// generated from /openapi.json (schema.d.ts, next to this file when it runs) and openapi-fetch.
// Run by scripts/generated-clients-check, which type-checks it first (tsc --noEmit), against the
// kassa at KASSA_URL with the sandbox merchant's KASSA_AUTH (`username:secret`). Any step that
// does not answer as expected throws, and the process exits nonzero.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

type Schemas = components["schemas"];

const base = process.env.KASSA_URL;
const auth = process.env.KASSA_AUTH;
if (!base || !auth) throw new Error("KASSA_URL and KASSA_AUTH must be set");

const client = createClient<paths>({
  baseUrl: base,
  headers: { Authorization: `Basic ${Buffer.from(auth).toString("base64")}` },
});

/** The body of an answer with the expected status, or a thrown error naming the step. */
function expect<T>(step: string, status: number, answer: { data?: T; error?: unknown; response: Response }): T {
  if (answer.response.status !== status || answer.data === undefined) {
    throw new Error(`${step}: ${answer.response.status}, expected ${status}: ${JSON.stringify(answer.error)}`);
  }
  return answer.data;
}

function check(step: string, condition: boolean, seen: unknown): void {
  if (!condition) throw new Error(`${step}: unexpected ${JSON.stringify(seen)}`);
}

const cart: Schemas["PaymentSessionRequest"] = {
  purchase_country: "SE",
  purchase_currency: "SEK",
  locale: "en-SE",
  order_amount: 18000,
  order_tax_amount: 3000,
  order_lines: [
    {
      type: "physical",
      name: "Cool Bike",
      quantity: 1,
      unit_price: 20000,
      tax_rate: 2000,
      total_amount: 18000,
      total_discount_amount: 2000,
      total_tax_amount: 3000,
    },
  ],
};

// 1. A Payments session holds the cart.
const payment = expect("create payment session", 200, await client.POST("/payments/v1/sessions", { body: cart }));
check("payment session id", payment.session_id.length > 0, payment);

// 2. An HPP session hosts it.
const hppRequest: Schemas["HppCreateRequest"] = {
  payment_session_url: `${base}/payments/v1/sessions/${payment.session_id}`,
  merchant_urls: { success: "https://shop.example/ok?sid={{session_id}}&token={{authorization_token}}" },
  options: { place_order_mode: "NONE" },
};
const hpp = expect("create HPP session", 201, await client.POST("/hpp/v1/sessions", { body: hppRequest }));
const session = { params: { path: { session_id: hpp.session_id } } };

// 3. Not yet visited: WAITING.
const waiting = expect("read HPP session", 200, await client.GET("/hpp/v1/sessions/{session_id}", session));
check("HPP status before the consumer", waiting.status === "WAITING", waiting);

// 4. The consumer opens the page and approves (the sandbox controls).
const consumer = (action: Schemas["SandboxHppAction"]) => ({
  params: { path: { session_id: hpp.session_id, action } },
});
const opened = expect(
  "sandbox open",
  200,
  await client.POST("/sandbox/v1/hpp/sessions/{session_id}/{action}", consumer("open")),
);
check("HPP status once opened", opened.session.status === "IN_PROGRESS", opened);
const approved = expect(
  "sandbox approve",
  200,
  await client.POST("/sandbox/v1/hpp/sessions/{session_id}/{action}", consumer("approve")),
);
const token = approved.session.authorization_token;
if (!token) throw new Error(`sandbox approve: no authorization token in ${JSON.stringify(approved)}`);

// 5. COMPLETED, with the token.
const completed = expect("read HPP session", 200, await client.GET("/hpp/v1/sessions/{session_id}", session));
check("HPP status once approved", completed.status === "COMPLETED", completed);
check("HPP authorization token", completed.authorization_token === token, completed);

// 6. The order, placed with the token and the same cart.
const order = expect(
  "place order",
  200,
  await client.POST("/payments/v1/authorizations/{authorization_token}/order", {
    params: { path: { authorization_token: token } },
    body: cart,
  }),
);
check("order fraud status", order.fraud_status === "ACCEPTED", order);

// 7. Order Management reads it: authorized, for the cart's amount.
const read = expect(
  "read order",
  200,
  await client.GET("/ordermanagement/v1/orders/{order_id}", { params: { path: { order_id: order.order_id } } }),
);
check("order status", read.status === "AUTHORIZED", read);
check("order amount", read.order_amount === 18000 && read.remaining_authorized_amount === 18000, read);
check("order currency", read.purchase_currency === "SEK", read);

console.log(`typescript client: order ${order.order_id} AUTHORIZED for 18000 SEK`);
