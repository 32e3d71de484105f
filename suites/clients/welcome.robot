*** Settings ***
Documentation       TCP welcome client (seed: lesson 001's client for the welcome server).
...
...                 Run as ``CLIENT_CMD --host HOST --port PORT``, the client connects, waits
...                 2 seconds, sends exactly ``1``, and prints the server's reply, which
...                 ends when the server closes. Then it exits with code 0.
...
...                 Here the suite is the server: it answers ``1`` with ``welcome to
...                 server!`` and closes, as the welcome server does. The client's 2-second
...                 wait is its behaviour, so the client of the test that checks its printing
...                 is started in the suite setup, and waits while the first test runs.
Resource            ${{ SocketLibrary.CLIENT_RESOURCE }}
Suite Setup         Start The Client Whose Reply Is Checked Later
Suite Teardown      Stop The Client And Close Connections
Test Teardown       Stop Client
Test Tags           tcp    welcome    client
Test Timeout        ${TEST_TIMEOUT}


*** Variables ***
${WELCOME}      welcome to server!
# The client must wait at least this long before it sends: the seed waits 2 s.
${LEAST_WAIT}   1s


*** Test Cases ***
It Waits Before Sending Exactly 1
    [Documentation]    Once connected, the client sends nothing for a while (2 s in the
    ...    seed), then exactly ``1``: no newline, nothing more before the server's reply.
    [Setup]    A Server Listening On TCP
    Given The Client Started
    And The Client Connects
    Then Nothing Arrives Within    ${LEAST_WAIT}
    And The Server Receives "1"
    And Nothing More Arrives Before The Reply

It Prints The Server's Reply And Exits
    [Documentation]    The reply is printed whole, and the client exits with code 0.
    Given The Client Started In The Suite Setup
    When The Server Receives "1"
    And The Server Replies "${WELCOME}" And Closes
    Then The Client Prints "${WELCOME}"
    And It Exits With Code 0

A Refused Connection Is Reported
    [Documentation]    With nobody listening, the client says so and exits with a code
    ...    other than 0.
    [Setup]    No Server Listening
    When The Client Started
    Then It Reports An Error And Exits Non-Zero


*** Keywords ***
Start The Client Whose Reply Is Checked Later
    [Documentation]    Suite setup: listen, start the client, and accept it as ``printing``.
    ${port}    Listen On TCP Port    ${PORT}    host=${HOST}    alias=printing
    VAR    ${SERVER_PORT}    ${port}    scope=SUITE
    Start The Client    welcome    alias=printing
    Accept Connection    timeout=${CLIENT_TIMEOUT}    alias=printing    listener=printing

The Client Started In The Suite Setup
    [Documentation]    Make the client started in the suite setup, and its connection, current.
    Switch Client    printing
    Switch Connection    printing

The Client Started
    [Documentation]    Start the welcome client.
    Start The Client    welcome

Nothing Arrives Within
    [Documentation]    The client sends nothing within the given time.
    [Arguments]    ${time}
    No Reply Within    ${time}

Nothing More Arrives Before The Reply
    [Documentation]    After ``1`` the client waits for the reply: no further byte arrives.
    No Reply Within    100ms

The Server Replies "${text}" And Closes
    [Documentation]    Send the text, then finish sending (FIN), as the welcome server does.
    Send    ${text}
    Half Close Connection
