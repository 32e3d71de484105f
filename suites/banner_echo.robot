*** Settings ***
Documentation       TCP banner echo server (seed port 8888).
...
...                 On connect the server sends the banner
...                 ``Welcome to the server. Type something and hit enter\\n``. Each chunk
...                 it receives then gets ``OK...`` followed by the chunk, byte for byte
...                 (valid text or not), until the client has finished sending. Then the
...                 server closes the connection, having sent nothing beyond its replies.
...                 Many clients are served at the same time.
...
...                 Replies are checked as a byte stream: a reply split over several
...                 segments, or arriving with the next one, is checked the same way.
...
...                 What is demanded: the seed program serves every client on its own thread,
...                 so serving clients at the same time (tag ``concurrency``) is part of this
...                 contract and always checked. Nothing here is tagged ``beyond-seed``.
Resource            ${{ SocketLibrary.TARGET_RESOURCE }}
Suite Setup         Start Target Server    banner_echo    tcp
Suite Teardown      Stop Target Server
Test Teardown       Close All Connections
Test Template       Message Should Be Answered With OK
Test Tags           tcp    banner_echo
Test Timeout        ${TEST_TIMEOUT}


*** Variables ***
${BANNER}           Welcome to the server. Type something and hit enter\n


*** Test Cases ***                              MESSAGE
A Word Gets OK                                  hello
A Line Gets OK                                  hello world\n
Non-ASCII Text Gets OK                          héllo 中文
A Long Message Of 1000 Bytes Gets OK            ${{ 'y' * 1000 }}

Bytes That Are Not UTF-8 Get OK Unchanged
    [Documentation]    The reply is byte for byte: bytes that are not valid text come back as
    ...    sent.
    [Template]    Bytes Should Be Answered With OK
    c3 28 ff fe 80 e2 82

NUL, CR And LF Get OK Unchanged
    [Documentation]    Control bytes come back as sent, none dropped or translated.
    [Template]    Bytes Should Be Answered With OK
    00 0d 0a 41 00 0d 0d 0a

The Banner Arrives On Connect
    [Documentation]    Before the client sends anything, the server sends the banner, exactly.
    [Template]    NONE
    Given A Client
    Then The Banner Arrives

Several Messages On One Connection Are Each Answered
    [Documentation]    After the banner, every message on the connection gets its reply.
    [Template]    NONE
    Given A Client That Got The Banner    only
    Then Client "only" Is Answered Message After Message

The Server Closes After The Client Has Finished Sending
    [Documentation]    Once the client has finished sending (a half-close, TCP FIN) and has
    ...    its reply, the server closes the connection, having sent nothing more.
    [Template]    NONE
    Given A Client That Got The Banner
    And It Is Answered With OK    the last message
    When It Finishes Sending
    Then The Server Closes Without Sending More

Five Clients At Once Are Served Side By Side
    [Documentation]    Five clients connected at the same time each get the banner and
    ...    their own replies, with their messages interleaved.
    [Tags]    concurrency
    [Template]    NONE
    Given 5 Clients That Each Got The Banner
    When Each Client Sends Its Own Message    1    2    3    4    5
    Then Each Client Gets Its Own Reply    1    2    3    4    5
    When Each Client Sends Its Own Message    5    3    1    4    2
    Then Each Client Gets Its Own Reply    2    4    1    3    5

One Client Leaving Does Not Affect The Others
    [Documentation]    When one client disconnects, the others keep being served and new
    ...    clients still get the banner.
    [Tags]    concurrency    robustness
    [Template]    NONE
    Given 3 Clients That Each Got The Banner
    When Client "client 2" Leaves
    Then Each Client Sends Its Own Message    1    3
    And Each Client Gets Its Own Reply    3    1
    And A New Client Still Gets The Banner


*** Keywords ***
Message Should Be Answered With OK
    [Documentation]    A new client gets the banner, sends ``message`` and gets ``OK...`` +
    ...    ``message``.
    [Arguments]    ${message}
    A Client That Got The Banner
    It Is Answered With OK    ${message}

It Is Answered With OK
    [Documentation]    The current client sends ``message`` and gets ``OK...`` + ``message``.
    [Arguments]    ${message}
    Send    ${message}
    Reply Should Be    OK...${message}

Bytes Should Be Answered With OK
    [Documentation]    A new client gets the banner, sends the bytes (hex) and gets ``OK...``
    ...    + those bytes.
    [Arguments]    ${hex}
    A Client That Got The Banner
    Send Bytes    ${hex}
    Reply Should Be Bytes    ${{ b'OK...' + bytes.fromhex($hex) }}

The Banner Arrives
    [Documentation]    The next thing the current client receives is exactly the banner.
    Reply Should Be    ${BANNER}

A Client That Got The Banner
    [Documentation]    Connect a client and receive the banner.
    [Arguments]    ${alias}=${NONE}
    Open Client    ${alias}
    The Banner Arrives

${count} Clients That Each Got The Banner
    [Documentation]    Connect ``client 1`` ... ``client N`` and let each receive the banner.
    FOR    ${number}    IN RANGE    1    ${count} + 1
        A Client That Got The Banner    client ${number}
    END

Each Client Sends Its Own Message
    [Documentation]    The numbered clients each send a message naming them, in this order.
    [Arguments]    @{numbers}
    FOR    ${number}    IN    @{numbers}
        Client "client ${number}" Sends "message from client ${number}"
    END

Each Client Gets Its Own Reply
    [Documentation]    The numbered clients each get the reply to their own message.
    [Arguments]    @{numbers}
    FOR    ${number}    IN    @{numbers}
        Client "client ${number}" Receives "OK...message from client ${number}"
    END

Client "${alias}" Is Answered Message After Message
    [Documentation]    Send numbered messages one by one, each answered before the next.
    Switch Connection    ${alias}
    FOR    ${number}    IN RANGE    1    6
        Send    message number ${number}
        Reply Should Be    OK...message number ${number}
    END

Client "${alias}" Leaves
    [Documentation]    The named client closes its connection.
    Switch Connection    ${alias}
    Close Connection

A New Client Still Gets The Banner
    [Documentation]    The server still greets new clients, and its process still runs.
    The Server Process Should Still Run
    Message Should Be Answered With OK    still there?
