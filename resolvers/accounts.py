"""Sign-up, sign-in, tokens, passwords and email verification: thin resolvers over domain.accounts."""

from __future__ import annotations

import strawberry

from domain import accounts
from domain.accounts import Client
from graphql_runtime.context import Info
from schema.accounts import AuthPayload, LoginInput, RegisterInput


def client_of(info: Info) -> Client:
    return Client(address=info.context.client_address, user_agent=info.context.user_agent)


@strawberry.type
class AccountsMutation:
    @strawberry.mutation
    async def register(self, info: Info, input: RegisterInput) -> AuthPayload:
        ctx = info.context
        result = await accounts.register(
            ctx.session,
            ctx.resources,
            ctx,
            username=input.username,
            email=input.email,
            password=input.password,
            full_name=input.full_name,
            client=client_of(info),
        )
        return AuthPayload.from_model(result)

    @strawberry.mutation
    async def login(self, info: Info, input: LoginInput) -> AuthPayload:
        ctx = info.context
        result = await accounts.login(
            ctx.session,
            ctx.resources,
            ctx,
            login=input.login,
            password=input.password,
            client=client_of(info),
        )
        return AuthPayload.from_model(result)

    @strawberry.mutation(
        description="Rotates: the refresh token used is spent; reusing it revokes the whole family."
    )
    async def refresh_token(self, info: Info, refresh_token: str) -> AuthPayload:
        ctx = info.context
        result = await accounts.refresh(
            ctx.session, ctx.resources, ctx, refresh_token=refresh_token, client=client_of(info)
        )
        return AuthPayload.from_model(result)

    @strawberry.mutation(
        description="Revokes the access token of this request and, when given, the refresh token."
    )
    async def logout(self, info: Info, refresh_token: str | None = None) -> bool:
        ctx = info.context
        return await accounts.logout(
            ctx.session, ctx.resources, ctx.principal, refresh_token=refresh_token, client=client_of(info)
        )

    @strawberry.mutation(description="Ends every other session and returns a fresh token pair.")
    async def change_password(self, info: Info, current_password: str, new_password: str) -> AuthPayload:
        ctx = info.context
        result = await accounts.change_password(
            ctx.session,
            ctx.resources,
            ctx,
            ctx.principal,
            current_password=current_password,
            new_password=new_password,
            client=client_of(info),
        )
        return AuthPayload.from_model(result)

    @strawberry.mutation(description="Mails the signed-in user a link to confirm their email address.")
    async def request_email_verification(self, info: Info) -> bool:
        ctx = info.context
        return await accounts.request_email_verification(ctx.session, ctx.resources, ctx, ctx.principal)

    @strawberry.mutation
    async def verify_email(self, info: Info, token: str) -> bool:
        ctx = info.context
        return await accounts.verify_email(ctx.session, ctx.resources, token=token, client=client_of(info))

    @strawberry.mutation(description="Always true: whether an account has this email is not revealed.")
    async def request_password_reset(self, info: Info, email: str) -> bool:
        ctx = info.context
        return await accounts.request_password_reset(
            ctx.session, ctx.resources, ctx, email=email, client=client_of(info)
        )

    @strawberry.mutation(description="Sets a new password with a reset token; ends every session.")
    async def reset_password(self, info: Info, token: str, new_password: str) -> bool:
        ctx = info.context
        return await accounts.reset_password(
            ctx.session, ctx.resources, ctx, token=token, new_password=new_password, client=client_of(info)
        )
