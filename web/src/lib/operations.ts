// Every GraphQL operation the Studio runs. `npm run codegen` types them (src/lib/gql/) and
// writes the persisted-document manifest (src/lib/gql/persisted-documents.json: hash → document).
import { graphql } from './gql';

export const UserFields = graphql(`
  fragment UserFields on User {
    id
    username
    fullName
    email
    emailVerified
    bio
    website
    location
    avatarUrl
    roles
    permissions
    createdAt
  }
`);

export const Register = graphql(`
  mutation Register($input: RegisterInput!) {
    register(input: $input) {
      accessToken
      refreshToken
      expiresIn
      user { ...UserFields }
    }
  }
`);

export const Login = graphql(`
  mutation Login($input: LoginInput!) {
    login(input: $input) {
      accessToken
      refreshToken
      expiresIn
      user { ...UserFields }
    }
  }
`);

export const RefreshToken = graphql(`
  mutation RefreshToken($refreshToken: String!) {
    refreshToken(refreshToken: $refreshToken) {
      accessToken
      refreshToken
      expiresIn
    }
  }
`);

export const Logout = graphql(`
  mutation Logout($refreshToken: String) {
    logout(refreshToken: $refreshToken)
  }
`);

export const Me = graphql(`
  query Me {
    me { ...UserFields }
  }
`);

export const RequestPasswordReset = graphql(`
  mutation RequestPasswordReset($email: String!) {
    requestPasswordReset(email: $email)
  }
`);

export const ResetPassword = graphql(`
  mutation ResetPassword($token: String!, $newPassword: String!) {
    resetPassword(token: $token, newPassword: $newPassword)
  }
`);

export const VerifyEmail = graphql(`
  mutation VerifyEmail($token: String!) {
    verifyEmail(token: $token)
  }
`);

export const RequestEmailVerification = graphql(`
  mutation RequestEmailVerification {
    requestEmailVerification
  }
`);

export const VideoCardFields = graphql(`
  fragment VideoCardFields on Video {
    id
    title
    status
    processingProgress
    currentStage
    duration
    aspectRatio
    thumbnailUrl
    createdAt
  }
`);

export const Videos = graphql(`
  query Videos($first: Int, $after: String, $status: VideoStatus) {
    videos(first: $first, after: $after, status: $status) {
      edges { cursor node { ...VideoCardFields } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

export const VideoCard = graphql(`
  query VideoCard($id: ID!) {
    video(id: $id) { ...VideoCardFields }
  }
`);

export const Voices = graphql(`
  query Voices {
    voices { id name language provider gender }
  }
`);

export const CreateVideo = graphql(`
  mutation CreateVideo($input: CreateVideoInput!) {
    createVideo(input: $input) { id status }
  }
`);

export const VideoDetailFields = graphql(`
  fragment VideoDetailFields on Video {
    id
    title
    description
    prompt
    scriptContent
    status
    processingProgress
    currentStage
    processingError
    failedStage
    duration
    resolution
    aspectRatio
    targetDurationSeconds
    voice
    tags
    createdAt
    fileUrl
    thumbnailUrl
    subtitlesUrl
    subtitlesSrtUrl
    stages { stage status progress attempts startedAt completedAt errorMessage }
    versions { version fileUrl changes createdAt }
    publications { id platform status scheduledAt publishedAt externalUrl errorMessage attempts }
  }
`);

export const VideoDetail = graphql(`
  query VideoDetail($id: ID!) {
    video(id: $id) { ...VideoDetailFields }
  }
`);

export const CancelVideo = graphql(`
  mutation CancelVideo($id: ID!) {
    cancelVideo(id: $id) { ...VideoDetailFields }
  }
`);

export const RetryVideo = graphql(`
  mutation RetryVideo($id: ID!) {
    retryVideo(id: $id) { ...VideoDetailFields }
  }
`);

export const RegenerateVideo = graphql(`
  mutation RegenerateVideo($input: RegenerateVideoInput!) {
    regenerateVideo(input: $input) { ...VideoDetailFields }
  }
`);

export const DeleteVideo = graphql(`
  mutation DeleteVideo($id: ID!) {
    deleteVideo(id: $id)
  }
`);

export const PublishVideo = graphql(`
  mutation PublishVideo($input: PublishVideoInput!) {
    publishVideo(input: $input) { id platform status scheduledAt publishedAt externalUrl errorMessage attempts }
  }
`);

export const VideoProgress = graphql(`
  subscription VideoProgress($videoId: ID!) {
    videoProgress(videoId: $videoId) { videoId status stage progress message at run }
  }
`);

export const MyVideoEvents = graphql(`
  subscription MyVideoEvents {
    myVideoEvents { videoId status stage progress message at run }
  }
`);

export const GenerateScript = graphql(`
  mutation GenerateScript($input: GenerateScriptInput!) {
    generateScript(input: $input) {
      title
      language
      scenes { heading narration visual keywords }
      seo { title description keywords }
    }
  }
`);

export const GenerateImage = graphql(`
  mutation GenerateImage($input: GenerateImageInput!) {
    generateImage(input: $input) { url width height }
  }
`);

export const SynthesizeSpeech = graphql(`
  mutation SynthesizeSpeech($input: SynthesizeSpeechInput!) {
    synthesizeSpeech(input: $input) { url duration sentences { start end text } }
  }
`);

export const AiUsage = graphql(`
  query AiUsage {
    myQuotas { type period limit used resetAt }
    aiGenerations(first: 10) {
      edges { node { id type provider model status costUsd tokensUsed processingTimeMs createdAt } }
      totalCount
    }
  }
`);

export const UpdateProfile = graphql(`
  mutation UpdateProfile($input: UpdateProfileInput!) {
    updateProfile(input: $input) { ...UserFields }
  }
`);

export const ChangePassword = graphql(`
  mutation ChangePassword($currentPassword: String!, $newPassword: String!) {
    changePassword(currentPassword: $currentPassword, newPassword: $newPassword) {
      accessToken
      refreshToken
      expiresIn
    }
  }
`);

export const SettingsData = graphql(`
  query SettingsData {
    apiKeys { id name prefix createdAt lastUsedAt expiresAt revokedAt }
    providerKeys { provider baseUrl createdAt }
    platformConnections { id platform accountId accountName tokenExpiresAt connectedAt }
  }
`);

export const CreateApiKey = graphql(`
  mutation CreateApiKey($name: String!, $expiresAt: DateTime) {
    createApiKey(name: $name, expiresAt: $expiresAt) { key apiKey { id name prefix createdAt } }
  }
`);

export const RevokeApiKey = graphql(`
  mutation RevokeApiKey($id: ID!) {
    revokeApiKey(id: $id)
  }
`);

export const SetProviderKey = graphql(`
  mutation SetProviderKey($provider: String!, $apiKey: String!, $baseUrl: String) {
    setProviderKey(provider: $provider, apiKey: $apiKey, baseUrl: $baseUrl) { provider baseUrl createdAt }
  }
`);

export const DeleteProviderKey = graphql(`
  mutation DeleteProviderKey($provider: String!) {
    deleteProviderKey(provider: $provider)
  }
`);

export const ConnectPlatform = graphql(`
  mutation ConnectPlatform($platform: String!, $accessToken: String!, $accountId: String!, $accountName: String) {
    connectPlatform(platform: $platform, accessToken: $accessToken, accountId: $accountId, accountName: $accountName) {
      id platform accountId accountName connectedAt
    }
  }
`);

export const DisconnectPlatform = graphql(`
  mutation DisconnectPlatform($id: ID!) {
    disconnectPlatform(id: $id)
  }
`);

export const PlatformConnections = graphql(`
  query PlatformConnections {
    platformConnections { id platform accountId accountName }
  }
`);

export const Analytics = graphql(`
  query Analytics($from: DateTime, $to: DateTime) {
    analytics(from: $from, to: $to) {
      totalViews totalLikes totalShares totalComments engagementRate
      videosCreated videosCompleted aiCostUsd
      daily { date views likes shares comments }
    }
  }
`);

export const AdminOverview = graphql(`
  query AdminOverview($first: Int!) {
    auditLog(first: $first) { id at action actorId targetType targetId clientAddress detail }
    aiProviderHealth { kind provider model state consecutiveFailures lastError retryInSeconds }
  }
`);

export const AdminUsers = graphql(`
  query AdminUsers($search: String, $first: Int!) {
    users(search: $search, first: $first) { id username email isActive roles lastLoginAt createdAt }
  }
`);

export const AdminUser = graphql(`
  query AdminUser($id: ID!) {
    node(id: $id) {
      ... on User { id username email isActive roles lastLoginAt createdAt }
    }
  }
`);

export const GrantRole = graphql(`
  mutation GrantRole($userId: ID!, $role: Role!) {
    grantRole(userId: $userId, role: $role) { id roles }
  }
`);

export const RevokeRole = graphql(`
  mutation RevokeRole($userId: ID!, $role: Role!) {
    revokeRole(userId: $userId, role: $role) { id roles }
  }
`);

export const SetSubscription = graphql(`
  mutation SetSubscription($userId: ID!, $plan: String!) {
    setSubscription(userId: $userId, plan: $plan) { plan status role startDate endDate }
  }
`);

export const DeactivateUser = graphql(`
  mutation DeactivateUser($id: ID!) {
    deactivateUser(id: $id) { id isActive }
  }
`);

export const ReactivateUser = graphql(`
  mutation ReactivateUser($id: ID!) {
    reactivateUser(id: $id) { id isActive }
  }
`);
